"""The user programs' number arguments, on both machines: a size past 32
bits, or a 0x without digits, is refused with the program's usage words
instead of wrapping to a smaller size that the program then acts on;
sleeper's durations in seconds or milliseconds, anything else (or a count
that is no number, or an argument more) refused;
spin's rounds, 0 of them none rather than forever; the file programs
without the files they need say their usage, all with status 2."""

from __future__ import annotations

import re

import pytest

from kos.console import Console


@pytest.mark.parametrize("arg", ["5G", "4G", "99999999999", "0x100000000", "0x"])
def test_memhog_refuses_a_size_it_cannot_hold(console: Console, arg: str):
    out = console.run(f"run /bin/memhog {arg}", timeout=60)
    assert f"memhog: not a size below 4 GiB (decimal or 0x hex, K/M/G): {arg}" in out, out
    assert "touched" not in out
    assert re.search(r"run: pid \d+ exited with status 2", out), out


def test_memhog_takes_a_hex_size_with_a_suffix(console: Console):
    out = console.run("run /bin/memhog 0x40K", timeout=60)
    assert "memhog: touched 65536 bytes" in out, out


def test_sleeper_takes_milliseconds(console: Console):
    # Read as seconds, 100ms twice would outlast the timeout.
    out = console.run("run /bin/sleeper 100ms 2", timeout=20)
    assert re.search(r"sleeper (\d+): 0\nsleeper \1: 1\nsleeper \1: done", out), out
    assert re.search(r"run: pid \d+ exited with status 0", out), out


@pytest.mark.parametrize("arg", ["1s", "ms", "x", "99999999999"])
def test_sleeper_refuses_a_duration_it_does_not_read(console: Console, arg: str):
    out = console.run(f"run /bin/sleeper {arg} 1", timeout=20)
    assert "usage: sleeper [SECONDS|MILLISECONDSms [COUNT [CHILDREN]]]" in out, out
    assert re.search(r"run: pid \d+ exited with status 2", out), out


@pytest.mark.parametrize("args", ["10ms x", "10ms 2 2x", "10ms 1 0 extra"])
def test_sleeper_refuses_a_count_it_does_not_read_and_an_argument_more(console: Console, args: str):
    out = console.run(f"run /bin/sleeper {args}", timeout=20)
    assert "usage: sleeper [SECONDS|MILLISECONDSms [COUNT [CHILDREN]]]" in out, out
    assert not re.search(r"sleeper \d+: ", out), out
    assert re.search(r"run: pid \d+ exited with status 2", out), out


def test_spin_of_zero_rounds_spins_none(console: Console):
    out = console.run("run /bin/spin 0", timeout=20)
    assert re.search(r"spin (\d+): spinning\nrun: pid \1 exited with status 0", out), out


@pytest.mark.parametrize("arg", ["x", "0x", "5G", "3 4"])
def test_spin_refuses_rounds_it_does_not_read(console: Console, arg: str):
    out = console.run(f"run /bin/spin {arg}", timeout=20)
    assert "usage: spin [ROUNDS]" in out and "spinning" not in out, out
    assert re.search(r"run: pid \d+ exited with status 2", out), out


@pytest.mark.parametrize(("line", "usage"), [("cat", "cat FILE..."), ("cksum", "cksum FILE..."),
                                             ("cp /etc/motd", "cp SRC DST")])
def test_file_programs_without_their_files_say_their_usage(console: Console, line: str, usage: str):
    out = console.run(f"run /bin/{line}", timeout=20)
    assert re.search(rf"^usage: {re.escape(usage)}\nrun: pid \d+ exited with status 2$", out, re.M), out
