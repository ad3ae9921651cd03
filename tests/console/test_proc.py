"""Processes from the shell, on both machines: run in the foreground and
in the background, exit statuses, every fault segv makes killing only segv
while the shell and a background program go on, memhog stopping at its
address-space limit and killed with SIGKILL when no frame is left, 32
processes and the 33rd refused, malformed ELFs
refused without a leak, ps, kill, limit and maps of a process, a busy
program and a busy kernel thread that do not starve the shell, and Ctrl-C
ending the foreground job with SIGINT."""

from __future__ import annotations

import re
import time

import pytest

from kos.console import Console
from kos.userland import MALFORMED

SEGV_MODES = {
    "null": r"read at 0x00000000: not mapped \(no mapping\)",
    "rodata": r"write at 0x400[0-9a-f]{5}: protection \(r-xp\)",
    "nx": r"exec at 0x400[0-9a-f]{5}: protection \(rw-p\)",
    "stack": r"write at 0xbf[0-9a-f]{6}: beyond the stack limit \(rw-p\)",
    "brk": r"read at 0x400[0-9a-f]{5}: not mapped \(no mapping\)",
}


class Shell:
    """A console whose background programs may print at any moment: lines
    are typed and answered up to the next prompt without the echo check of
    Console.run (a background line may split an echo), and everything seen
    is kept, since the report of a background program's end comes before
    whichever prompt follows it."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.transcript = ""

    def __call__(self, line: str, timeout: float = 60) -> str:
        self.console.sendline(line)
        out = self.console.wait_prompt(timeout)
        self.transcript += out
        return out

    def expect(self, text: str, timeout: float = 60) -> None:
        """Wait for text, unless an answer already carried it."""
        if text not in self.transcript:
            self.transcript += self.console.expect_text(text, timeout) + text

    def reported(self, *reports: str, tries: int = 250) -> bool:
        """Whether every report has been printed, answering empty lines
        until it is (5 s at most): a program that printed its last line may
        not have exited yet, and its end is reported before the next prompt
        after. A signal takes effect at the next timer tick, 10 ms apart."""
        for _ in range(tries):
            if all(r in self.transcript for r in reports):
                return True
            time.sleep(0.02)
            self("")
        return all(r in self.transcript for r in reports)

    def spawn(self, command: str) -> int:
        m = re.search(r"run: pid (\d+) in the background", self(f"run {command} &"))
        assert m, self.transcript[-500:]
        return int(m.group(1))

    def free_frames(self) -> int:
        """Frames free or holding file data in the page cache: running a
        program reads its file into the cache, which keeps it (not a leak)."""
        info = self("meminfo")
        m = re.search(r"^free_frames: (\d+)", info, re.M)
        cached = re.search(r"^pagecache_frames: (\d+)", info, re.M)
        assert m and cached, self.transcript[-500:]
        return int(m.group(1)) + int(cached.group(1))


@pytest.fixture
def sh(console: Console) -> Shell:
    return Shell(console)


def test_hello_prints_arguments_environment_and_exit_status(console: Console):
    out = console.run("run /bin/hello one two", timeout=60)
    lines = out.splitlines()
    pid = int(re.search(r"hello from pid (\d+)", out).group(1))       # type: ignore[union-attr]
    assert pid >= 2
    assert lines[1:4] == ["argv[0] = /bin/hello", "argv[1] = one", "argv[2] = two"]
    assert "env PATH=/bin" in lines
    assert lines[-1] == f"run: pid {pid} exited with status 0"


def test_a_program_named_without_a_slash_is_found_in_bin(console: Console):
    """As sh runs a command: `run hello` is /bin/hello (the PATH programs
    are given), with the name typed as its argv[0]; a path is taken as it is."""
    out = console.run("run hello one", timeout=60)
    assert out.splitlines()[1:3] == ["argv[0] = hello", "argv[1] = one"], out
    assert re.search(r"run: pid \d+ exited with status 0$", out), out
    assert console.run("run nothere").strip() == "run: error ENOENT (-2): no such file: /bin/nothere"
    assert "run: error ENOENT (-2): no such file: data/hello" in console.run("run data/hello")


def test_nonzero_exit_status_is_reported(console: Console):
    out = console.run("run /bin/segv", timeout=60)
    assert re.search(r"usage: segv", out)
    assert re.search(r"run: pid \d+ exited with status 2$", out, re.M), out


@pytest.mark.parametrize("mode", sorted(SEGV_MODES))
def test_a_segv_fault_kills_only_segv(sh: Shell, mode: str):
    sleeper = sh.spawn("/bin/sleeper 100ms 100000")
    sh.expect(f"sleeper {sleeper}: 0")
    out = sh(f"run /bin/segv {mode}")
    m = re.search(rf"segfault: pid (\d+) \(segv\): {SEGV_MODES[mode]}", out)
    assert m, out
    assert f"run: pid {m.group(1)} killed by SIGSEGV" in out
    # The shell goes on, and so does the background program: it prints
    # its next line after the fault, and ends only when it is killed.
    assert re.search(r"run: pid \d+ exited with status 0", sh("run /bin/hello"))
    last = max(int(n) for n in re.findall(rf"sleeper {sleeper}: (\d+)", sh.transcript))
    sh.expect(f"sleeper {sleeper}: {last + 1}")
    assert f"kill: pid {sleeper} sent SIGTERM" in sh(f"kill {sleeper}")
    assert sh.reported(f"run: pid {sleeper} killed by SIGTERM"), sh.transcript[-500:]


def test_a_bad_pointer_to_write_is_efault(console: Console):
    out = console.run("run /bin/segv efault", timeout=60)
    assert "segv: write with a bad pointer returned -14 (EFAULT)" in out
    assert re.search(r"run: pid \d+ exited with status 0", out)


def test_memhog_stops_at_its_limit_with_enomem_and_nothing_leaks(sh: Shell):
    before = sh.free_frames()
    assert "limit: pid 1 address space limit 4194304 bytes" in sh("limit 1 4M")
    out = sh("run /bin/memhog 16M", timeout=120)
    m = re.search(r"memhog: stopped at (\d+) of 16777216 bytes: mmap error -12 \(ENOMEM\)", out)
    assert m, out
    assert 0 < int(m.group(1)) <= 4 << 20
    assert re.search(r"run: pid \d+ exited with status 1", out)
    sh("limit 1 0xffffffff")                 # lifted: twice the old limit is touched whole
    assert "memhog: touched 8388608 bytes" in sh("run /bin/memhog 8M", timeout=120)
    assert sh.free_frames() == before


def test_a_fault_with_no_free_frame_is_an_oom_kill_with_sigkill_and_nothing_leaks(sh: Shell):
    """The access was valid and there is no frame to give it: not SIGBUS
    (a file's page that does not exist) but SIGKILL, as Linux's OOM killer
    ends a process, and the report says so."""
    before = sh.free_frames()
    out = sh("run /bin/memhog 64M", timeout=120)                  # more than the 64 MiB machine has
    m = re.search(r"^oom: pid (\d+) \(memhog\): write at 0x[0-9a-f]{8}: out of memory \(rw-p\): "
                  r"a valid access with no free frame: SIGKILL, as Linux's OOM killer sends$", out, re.M)
    assert m, out
    assert f"run: pid {m.group(1)} killed by SIGKILL" in out
    assert "memhog: touched" not in out
    assert sh.free_frames() == before
    assert re.search(r"run: pid \d+ exited with status 0", sh("run /bin/hello"))


def test_thirty_two_processes_then_eagain(sh: Shell):
    before = sh.free_frames()
    pids = [sh.spawn("/bin/sleeper 300 1") for _ in range(32)]
    assert "run: error EAGAIN (-11): no kernel stack left for a process" in sh("run /bin/hello")
    sh.expect(f"sleeper {pids[-1]}: 0")
    ps = sh("ps")
    assert all(re.search(rf"^\s+{p}\s+1 S\s+sleeper", ps, re.M) for p in pids), ps
    for p in pids:
        assert f"kill: pid {p} sent SIGTERM" in sh(f"kill {p}")
    assert sh.reported(*(f"run: pid {p} killed by SIGTERM" for p in pids)), sh.transcript[-500:]
    assert "hello from pid" in sh("run /bin/hello")
    assert sh.free_frames() == before


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_elf_is_refused_without_a_leak(sh: Shell, name: str):
    before = sh.free_frames()
    out = sh(f"run /bad/{name}")
    assert f"run: error ENOEXEC (-8): {MALFORMED[name][1]}: /bad/{name}" in out
    assert sh.free_frames() == before
    assert "hello from pid" in sh("run /bin/hello")


def test_missing_program_is_enoent(console: Console):
    assert "run: error ENOENT (-2): no such file: /bin/nope" in console.run("run /bin/nope")
    assert "usage: run" in console.run("run")


def test_ps_maps_limit_and_kill_of_a_background_program(sh: Shell):
    pid = sh.spawn("/bin/sleeper 300 1")
    sh.expect(f"sleeper {pid}: 0")
    # Between its line and its nanosleep the sleeper is still runnable (the
    # keystrokes of "ps" may preempt it there): ask again until it sleeps.
    for _ in range(10):
        ps = sh("ps")
        line = re.search(rf"^\s+{pid}\s+1 S\s+sleeper\s+(\d+)\s+(\d+)\s+unlimited\s+(\d+)", ps, re.M)
        if line:
            break
        time.sleep(0.2)
    assert re.search(r"^\s+0\s+0 R\s+idle", ps, re.M) and re.search(r"^\s+1\s+0 R\s+shell", ps, re.M)
    assert line, ps
    assert int(line.group(1)) > 0 and 0 < int(line.group(2)) <= int(line.group(1))
    assert int(line.group(3)) > 0
    maps = sh(f"maps {pid}")
    # The text is mapped from the program's file (its page-cache frames).
    assert re.search(r"^40000000-400[0-9a-f]{5} r-xp 00000000 00:00 \d+\s+/bin/sleeper$", maps, re.M), maps
    assert re.search(r"^400[0-9a-f]{5}-400[0-9a-f]{5} rw-p ", maps, re.M), maps
    assert re.search(r"^bf[0-9a-f]{6}-c0000000 rw-p 00000000 00:00 0\s+\[stack\]", maps, re.M), maps
    assert f"limit: pid {pid} address space limit 1048576 bytes" in sh(f"limit {pid} 1M")
    assert re.search(rf"^\s+{pid}\s+1 S\s+sleeper\s+\d+\s+\d+\s+1048576\s", sh("ps"), re.M)
    assert "kill: error ESRCH (-3): no such process" in sh("kill 999")
    assert "kill: error EPERM (-1)" in sh("kill 1")
    assert "maps: error ESRCH (-3)" in sh("maps 999")
    assert f"kill: pid {pid} sent SIGKILL" in sh(f"kill {pid} 9")
    assert sh.reported(f"run: pid {pid} killed by SIGKILL"), sh.transcript[-500:]


def test_spin_does_not_starve_the_shell(sh: Shell):
    pid = sh.spawn("/bin/spin")
    # Commands keep answering while spin runs (generous bounds: the host
    # is loaded), and spin makes progress too.
    for _ in range(5):
        start = time.monotonic()
        assert "free_frames" in sh("meminfo", timeout=30)
        assert time.monotonic() - start < 20
    sh.expect(f"spin {pid}: round 0", timeout=180)
    # A busy program dies of the signal at its next timer tick: its end
    # is reported before a later prompt, not necessarily the next.
    assert f"kill: pid {pid} sent SIGTERM" in sh(f"kill {pid}")
    assert sh.reported(f"run: pid {pid} killed by SIGTERM"), sh.transcript[-500:]


def test_a_spinning_kernel_thread_does_not_starve_the_shell(sh: Shell):
    # kspin never sleeps and runs in ring 0: only a timer tick preempting
    # the kernel lets the shell answer beside it.
    m = re.search(r"kspin: pid (\d+) spins in the kernel until killed", sh("kspin"))
    assert m, sh.transcript[-500:]
    pid = int(m.group(1))
    for _ in range(5):
        start = time.monotonic()
        assert "free_frames" in sh("meminfo", timeout=30)
        assert time.monotonic() - start < 20
    assert re.search(rf"^\s+{pid}\s+1 R\s+kspin\s+0\s+0\s", sh("ps"), re.M), sh.transcript[-500:]
    time.sleep(0.2)                     # 20 more ticks at 100 Hz
    assert f"kill: pid {pid} sent SIGTERM" in sh(f"kill {pid}")
    sh.expect(f"kspin {pid}: saw ", timeout=60)
    sh.expect(" ticks", timeout=10)
    # It ran through timer ticks, and died of the signal it was sent.
    assert sh.reported(f"run: pid {pid} killed by SIGTERM"), sh.transcript[-500:]
    ticks = re.search(rf"kspin {pid}: saw (\d+) ticks", sh.transcript)
    assert ticks and int(ticks.group(1)) > 0, sh.transcript[-500:]


def test_ctrl_c_kills_a_busy_foreground_program_with_sigint(sh: Shell):
    sh.console.sendline("run /bin/spin")
    m = re.search(r"spin (\d+): spinning", sh.console.expect_text(": spinning", timeout=180) + ": spinning")
    assert m, sh.console.output_so_far()[-500:]
    sh.console.send("\x03")
    out = sh.console.wait_prompt(60)
    assert "^C" in out and f"run: pid {m.group(1)} killed by SIGINT" in out, out
    assert "hello from pid" in sh("run /bin/hello")


def test_ctrl_c_kills_a_sleeping_foreground_job_and_its_children(sh: Shell):
    before = sh.free_frames()
    sh.console.sendline("run /bin/sleeper 300 1 2")
    seen = ""
    while len(set(re.findall(r"sleeper (\d+): 0", seen))) < 3:
        seen += sh.console.expect_text(": 0", timeout=60) + ": 0"
    parent = min(int(p) for p in re.findall(r"sleeper (\d+): 0", seen))
    sh.console.send("\x03")
    out = sh.console.wait_prompt(60)
    sh.transcript += out
    assert f"run: pid {parent} killed by SIGINT" in out, out
    # The children were sent SIGINT too: the shell reaps them as orphans
    # (each ends when it next runs, perhaps after this prompt).
    children = [f"run: pid {c} killed by SIGINT" for c in (parent + 1, parent + 2)]
    assert sh.reported(*children), sh.transcript[-500:]
    assert not re.search(r"\bsleeper\b", sh("ps"))
    assert sh.free_frames() == before
    # At the prompt Ctrl-C is the line editor's again: it drops the line.
    sh.console.send("kill 1\x03")
    out = sh.console.wait_prompt(30)
    assert "kill 1^C" in out and "kill: error" not in out, out


def test_a_signal_without_a_name_is_reported_by_its_number(sh: Shell):
    pid = sh.spawn("/bin/sleeper 300 1")
    assert f"kill: pid {pid} sent signal 40" in sh(f"kill {pid} 40")
    assert sh.reported(f"run: pid {pid} killed by signal 40"), sh.transcript[-500:]


def test_the_stack_of_a_live_process_cannot_be_freed_by_hand(sh: Shell):
    pid = sh.spawn("/bin/sleeper 300 1")
    out = sh(f"stack free {pid}")
    assert f"stack: error EBUSY (-16): pid {pid} is a live process running on this stack" in out, out
    base = re.search(rf"stack: pid {pid} base (0x02[0-9a-f]{{6}}) top", sh(f"stack info {pid}"))
    assert base, sh.transcript[-500:]
    # The stack is still the process's: no other owner gets it, and the kill ends the process.
    other = re.search(r"stack: pid 77 base (0x[0-9a-f]{8}) top", sh("stack alloc 77") + sh("stack info 77"))
    assert other and other.group(1) != base.group(1), sh.transcript[-500:]
    assert "stack: pid 77 freed" in sh("stack free 77")
    assert f"kill: pid {pid} sent SIGKILL" in sh(f"kill {pid} 9")
    assert sh.reported(f"run: pid {pid} killed by SIGKILL"), sh.transcript[-500:]
    assert f"stack: pid {pid} base 0x00000000" in sh(f"stack info {pid}")


@pytest.mark.parametrize("pid", [0, 1])
def test_a_stack_taken_by_hand_for_idle_or_the_shell_goes_back(console: Console, pid: int):
    """Idle and the shell are live but run on static stacks: a stack_alloc
    by hand for their pid is nobody's stack, and freeing it must not be
    refused as a live process's (the slot was lost for good)."""
    stacks = console.kv("memstats")["num_stacks"]
    assert re.search(rf"^stack: pid {pid} top 0x02[0-9a-f]{{6}}$", console.run(f"stack alloc {pid}"), re.M)
    assert console.kv("memstats")["num_stacks"] == stacks + 1
    assert console.run(f"stack free {pid}").strip() == f"stack: pid {pid} freed"
    assert console.kv("memstats")["num_stacks"] == stacks
    assert console.run(f"stack info {pid}").strip() == f"stack: pid {pid} base 0x00000000 top 0x00000000"


def test_a_pid_whose_stack_was_taken_by_hand_is_passed_over(sh: Shell):
    m = re.search(r"hello from pid (\d+)", sh("run /bin/hello"))
    assert m, sh.transcript[-500:]
    taken = int(m.group(1)) + 1                    # the pid the next program would get
    assert f"stack: pid {taken} top 0x" in sh(f"stack alloc {taken}"), sh.transcript[-500:]
    out = sh("run /bin/hello")
    assert f"hello from pid {taken + 1}" in out, out
    assert re.search(rf"run: pid {taken + 1} exited with status 0", out), out
    assert f"stack: pid {taken} freed" in sh(f"stack free {taken}")


def test_a_running_programs_file_is_not_opened_for_writing(sh: Shell):
    assert re.search(r"run: pid \d+ exited with status 0", sh("run /bin/cp /bin/sleeper /data/s2"))
    pid = sh.spawn("/data/s2 300 1")
    sh.expect(f"sleeper {pid}: 0")
    out = sh("write /data/s2 x")
    assert ("write: error ETXTBSY (-26): text file busy: a running program's image: /data/s2"
            in out), out
    assert re.search(rf"^\s+{pid}\s+1 [RS]\s+s2", sh("ps"), re.M), sh.transcript[-500:]
    assert f"kill: pid {pid} sent SIGKILL" in sh(f"kill {pid} 9")
    assert sh.reported(f"run: pid {pid} killed by SIGKILL"), sh.transcript[-500:]
    assert "write: 1 byte to /data/s2" in sh("write /data/s2 x")


def test_kill_of_a_group_ends_a_job_and_minus_one_every_program(sh: Shell):
    """A program run from the shell leads a process group its forks stay
    in: `kill -PGID` ends the job whole; `kill -1` every process but the
    shell; then no group is left to signal."""
    leader = sh.spawn("/bin/sleeper 100ms 100000 2")
    for _ in range(50):
        pids = {int(p) for p in re.findall(r"sleeper (\d+): 0", sh.transcript)}
        if len(pids) == 3:
            break
        sh("")
    assert leader in pids and len(pids) == 3, sh.transcript[-500:]
    assert f"kill: group {leader} sent SIGTERM" in sh(f"kill -{leader}")
    # The children die as their parent does: the shell, their parent then, reports them too.
    assert sh.reported(*(f"run: pid {p} killed by SIGTERM" for p in pids)), sh.transcript[-500:]
    assert "kill: error ESRCH (-3): no process in that group" in sh(f"kill -{leader} 0")
    a, b = sh.spawn("/bin/sleeper 100ms 100000"), sh.spawn("/bin/sleeper 100ms 100000")
    assert "kill: every process but the shell sent SIGKILL" in sh("kill -1 9")
    assert sh.reported(*(f"run: pid {p} killed by SIGKILL" for p in (a, b))), sh.transcript[-500:]
    assert "kill: error ESRCH (-3): no process but the shell to signal" in sh("kill -1")
    for line in ("kill -0", "kill -0 0"):
        assert "kill: error EPERM (-1): pid 0 and 1 cannot be killed" in sh(line)
