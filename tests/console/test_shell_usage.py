"""The shell checks every line against the command's usage before running
it (kernel/shell/usage.c): an argument beyond what the usage lists is
refused with "too many arguments" and the usage, and nothing is done, for
every command help lists; and a trailing '&' is the background, glued to
the last word or not, while a misplaced one is refused, never taken as an
argument."""

from __future__ import annotations

import re

import pytest

from kos.console import Console

# One line per command: its fullest form (each argument in range, so only
# the count can refuse it) and one word more.
ONE_TOO_MANY = {
    "buddy": "buddy free 0x1000 0 x",
    "buddycheck": "buddycheck x",
    "buddyinfo": "buddyinfo x",
    "cat": "cat /etc/motd /etc/motd",
    "clear": "clear x",
    "crash": "crash pf x",
    "defrag": "defrag x",
    "elfinfo": "elfinfo /bin/hello x",
    "exec": "exec 0x40000000 x",
    "halt": "halt now",
    "heapcheck": "heapcheck x",
    "heapdebug": "heapdebug on x",
    "heapmap": "heapmap 4096 x",
    "help": "help me",
    "kcalloc": "kcalloc 1 16 x",
    "kfree": "kfree 0x200000 x",
    "kill": "kill 1 9 x",
    "kmalloc": "kmalloc 16 8 x",
    "krealloc": "krealloc 0 16 x",
    "kspin": "kspin x",
    "ktest": "ktest list x",
    "leaks": "leaks x",
    "limit": "limit 1 8M x",
    "ls": "ls / /bin",
    "maps": "maps 1 x",
    "meminfo": "meminfo x",
    "memmap": "memmap x",
    "memstats": "memstats x",
    "memtest": "memtest x",
    "mkdir": "mkdir /d x",
    "mmap": "mmap 0 4K r private /etc/motd 0 x",
    "mprotect": "mprotect 0x40000000 4K r x",
    "msync": "msync 0x40000000 4K x",
    "munmap": "munmap 0x40000000 4K x",
    "page": "page alloc 0 x",
    "peek": "peek 0x200000 16 x",
    "poke": "poke 0x40000000 1 x",
    "ps": "ps x",
    "rm": "rm /etc/motd x",
    "rmdir": "rmdir /data x",
    "slab": "slab create c 16 8 x",
    "slabcheck": "slabcheck x",
    "slabinfo": "slabinfo x",
    "stack": "stack alloc 7 x",
    "stat": "stat / x",
    "uptime": "uptime x",
    "vmalloc": "vmalloc alloc 4K 4K x",
    "vmallocinfo": "vmallocinfo x",
    "vmstat": "vmstat x",
    "wx": "wx 1 on x",
}
# Their usage ends in "...": any number of arguments.
UNBOUNDED = {"run", "write"}


def state(console: Console) -> tuple[object, ...]:
    """What a refused line must not change: heap blocks, free frames,
    processes, the shell's mappings and the root directory."""
    heap = console.kv("memstats")
    frames = console.kv("meminfo")["free_frames"]
    return heap["num_allocations"], heap["num_stacks"], frames, console.run("ps"), console.run("maps"), \
        console.run("ls /")


def test_every_command_is_checked(console: Console):
    names = set(re.findall(r"^  ([a-z]+)\b", console.run("help"), re.M))
    assert names == set(ONE_TOO_MANY) | UNBOUNDED


@pytest.mark.parametrize("command", sorted(ONE_TOO_MANY))
def test_an_argument_beyond_the_usage_is_refused_and_nothing_is_done(console: Console, command: str):
    state(console)                         # the first look takes in / and /bin from the initrd
    before = state(console)
    lines = console.run(ONE_TOO_MANY[command]).splitlines()
    assert lines[0] == f"{command}: too many arguments"
    assert lines[1].startswith(f"usage: {command}")
    assert len(lines) == 2, lines
    assert state(console) == before


def test_a_command_without_arguments_says_so(console: Console):
    assert console.run("memstats 1").splitlines() == ["memstats: too many arguments",
                                                       "usage: memstats (no arguments)"]


def test_too_few_arguments_print_the_usage(console: Console):
    assert console.run("kcalloc 4").strip() == "usage: kcalloc NUM SIZE"
    assert console.run("buddy free 0x1000").strip() == \
        "usage: buddy alloc ORDER [kernel|dma|highmem [only]] | free ADDR ORDER | stats"


@pytest.mark.parametrize("line", ["kmalloc 16", "kmalloc 16 8", "page count", "page free 0x1000000",
                                  "mmap 0 4K r private", "wx", "wx 1", "wx 1 off", "ktest list"])
def test_every_form_the_usage_lists_is_accepted(console: Console, line: str):
    assert "usage:" not in console.run(line)


def background(console: Console, line: str) -> tuple[int, str]:
    """Run line, which must start a background program; wait for its end
    (reported before a later prompt) and return its pid and everything."""
    console.sendline(line)
    out = console.wait_prompt(60)
    m = re.search(r"run: pid (\d+) in the background", out)
    assert m, out
    pid = int(m.group(1))
    for _ in range(100):
        if f"run: pid {pid} exited with status 0" in out:
            return pid, out
        console.sendline("")
        out += console.wait_prompt(60)
    raise AssertionError(out[-500:])


@pytest.mark.parametrize("line", ["run /bin/hello one &", "run /bin/hello one&",
                                  "run   /bin/hello one   &  "])
def test_a_trailing_ampersand_runs_in_the_background_glued_or_not(console: Console, line: str):
    _, out = background(console, line)
    out = out.partition("\n")[2]                # past the echo
    assert "argv[1] = one\n" in out
    assert "argv[2]" not in out and "one&" not in out


def test_a_glued_ampersand_after_the_path_is_not_part_of_it(console: Console):
    _, out = background(console, "run /bin/hello&")
    assert "argv[0] = /bin/hello\n" in out


@pytest.mark.parametrize("line", ["run & /bin/hello", "run /bin/hello & one", "run /bin/hello &&",
                                  "run /bin/hello one&&", "run /bin/hello & &"])
def test_a_misplaced_ampersand_is_refused_and_nothing_runs(console: Console, line: str):
    ps = console.run("ps")
    assert console.run(line).strip() == \
        "shell: '&' runs a line in the background: it can only end the line, once"
    assert console.run("ps") == ps


def test_an_ampersand_alone_is_no_path(console: Console):
    assert console.run("run &").strip() == "usage: run PATH [ARGS...] [&]"
    assert console.run("&").strip() == "shell: '&' needs a command before it"


def test_only_run_runs_in_the_background(console: Console):
    before = console.kv("memstats")["num_allocations"]
    assert console.run("kmalloc 64 &").strip() == "kmalloc: cannot run in the background (only run can)"
    assert console.run("memstats&").strip() == "memstats: cannot run in the background (only run can)"
    assert console.kv("memstats")["num_allocations"] == before


def test_an_ampersand_inside_a_word_is_text(console: Console):
    assert console.run("write /amp a&b c").strip() == "write: 5 bytes to /amp"
    assert console.run("cat /amp").strip() == "a&b c"
