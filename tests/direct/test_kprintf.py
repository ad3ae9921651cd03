"""kprintf's formatter, called directly through ksnprintf in the real image."""

from __future__ import annotations

import pytest

from kos.machine.unicorn.kernel import UnicornKernel


def _fmt(k: UnicornKernel, fmt: str, *args: int | str) -> tuple[str, int]:
    """ksnprintf(buf, 128, fmt, args...) with string arguments placed in the scratch area."""
    buf, strings = k.scratch, k.scratch + 256
    k.write(strings, fmt.encode() + b"\0")
    at = strings + len(fmt) + 1
    values = []
    for a in args:
        if isinstance(a, str):
            k.write(at, a.encode() + b"\0")
            values.append(at)
            at += len(a) + 1
        else:
            values.append(a & 0xFFFFFFFF)
    n = k.call("ksnprintf", buf, 128, strings, *values)
    return k.read_cstring(buf), n


@pytest.mark.parametrize(("fmt", "args", "want"), [
    ("%d|%i", (-42, 7), "-42|7"),
    ("%u", (0xFFFFFFFF,), "4294967295"),
    ("%x %X", (0xBEEF, 0xBEEF), "beef BEEF"),
    ("[%08x]", (0x1F,), "[0000001f]"),
    ("[%5d][%-5d][%05d]", (42, 42, -42), "[   42][42   ][-0042]"),
    ("%p", (0x200010,), "0x00200010"),
    ("[%s][%-6s][%6s]", ("kos", "ab", "ab"), "[kos][ab    ][    ab]"),
    ("[%-*s]", (5, "x"), "[x    ]"),
    ("%c%c", (ord("o"), ord("k")), "ok"),
    ("100%%", (), "100%"),
    ("%d", (-2147483648,), "-2147483648"),
])
def test_formats(guest, fmt, args, want):
    assert _fmt(guest, fmt, *args) == (want, len(want))


def test_output_is_cut_to_the_buffer_but_the_length_is_the_full_one(guest):
    buf = guest.scratch
    guest.write(buf + 64, b"%s\0")
    guest.write(buf + 80, b"abcdefghij\0")
    n = guest.call("ksnprintf", buf, 4, buf + 64, buf + 80)
    assert n == 10
    assert guest.read(buf, 4) == b"abc\0"


def test_null_string_prints_null(guest):
    assert _fmt(guest, "%s", 0) == ("(null)", 6)


def _u64(v: int) -> tuple[int, int]:
    """A 64-bit argument as the two words the i386 cdecl call pushes."""
    return v & 0xFFFFFFFF, (v >> 32) & 0xFFFFFFFF


# Each one was printed wrong, or printed itself and left its argument for
# the next conversion: every case ends with a %d that must read its own 7.
@pytest.mark.parametrize(("fmt", "args", "want"), [
    ("%lld|%d", (*_u64(-5000000000), 7), "-5000000000|7"),
    ("%lld|%d", (*_u64(-1), 7), "-1|7"),
    ("[%.3s]|%d", ("abcdef", 7), "[abc]|7"),
    ("[%.*s]|%d", (2, "abcdef", 7), "[ab]|7"),
    ("[%-8.3s]|%d", ("abcdef", 7), "[abc     ]|7"),
    ("[%.5d][%.3x]|%d", (-42, 0xF, 7), "[-00042][00f]|7"),
    ("[%8.3u]|%d", (5, 7), "[     005]|7"),
    ("[%.0d]|%d", (0, 7), "[]|7"),
    ("[%-*s]|%d", (-5, "x", 7), "[x    ]|7"),
    ("[%*d]|%d", (-4, 3, 7), "[3   ]|7"),
    ("[%+d][% d][%+d]|%d", (5, 5, -5, 7), "[+5][ 5][-5]|7"),
    ("[%#x][%#X][%#x]|%d", (255, 255, 0, 7), "[0xff][0XFF][0]|7"),
    ("[%hhx][%hd]|%d", (0x1FF, 0x18000, 7), "[ff][-32768]|7"),
])
def test_edge_formats_read_their_own_arguments(guest, fmt, args, want):
    assert _fmt(guest, fmt, *args) == (want, len(want))


def test_precision_cuts_a_string_that_has_no_nul(guest):
    """%.*s of a name stored without a NUL stops at the precision."""
    buf = guest.scratch
    guest.write(buf + 64, b"[%.*s]\0")
    guest.write(buf + 80, b"abcd")                 # the next byte is not a NUL
    guest.write(buf + 84, b"XYZ\0")
    n = guest.call("ksnprintf", buf, 32, buf + 64, 4, buf + 80)
    assert (guest.read_cstring(buf), n) == ("[abcd]", 6)
