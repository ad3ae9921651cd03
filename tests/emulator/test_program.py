"""`python -m kos.machine.unicorn`: the program QEMU's place, its exit
statuses and terminal handling, and its refusals when it cannot run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pexpect
import pytest

import kos.machine.unicorn.selfcheck as selfcheck
from kos import paths
from kos.console import ConsoleError
from kos.machine.unicorn import unicorn_command
from kos.machine.unicorn.host import HostTerminal, serve
from kos.machine.unicorn.kernel import Stop, UnicornKernel


def run_program(args: list[str], stdin: bytes = b"",
                timeout: float = 30) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "kos.machine.unicorn", *args], input=stdin,
                          capture_output=True, timeout=timeout)


def test_commands_on_a_pipe_and_halts_status(kernel: Path):
    res = run_program([str(kernel)], b"help\rhalt\r")
    out = res.stdout.decode()
    assert res.returncode == 33, res.stderr
    assert "commands:" in out and "kernel stopped: halt (exit status 33)" in out


def test_end_of_stdin_leaves_the_machine_running_as_qemu_does(kernel: Path):
    cmd = unicorn_command(kernel)
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(b"uptime\r")
        proc.stdin.close()                               # EOF before the kernel has even booted
        out = b""
        while b"uptime: " not in out:
            chunk = os.read(proc.stdout.fileno(), 4096)
            assert chunk, f"the program ended at EOF: {out[-300:]!r}"
            out += chunk
        time.sleep(0.5)
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0                          # SIGTERM: quietly, as QEMU


def test_a_fault_exits_with_qemus_failure_status(kernel: Path):
    res = run_program(["--memory", "32M", str(kernel)], b"crash pf\r")
    assert res.returncode == 35
    assert b"page fault at cr2=dead0000: page not present, write, kernel mode" in res.stdout


@pytest.mark.parametrize("args,message", [
    (["--memory", "64Q"], "bad memory size"),
    (["--memory", "1K"], "too small"),
])
def test_bad_arguments_exit_1_with_a_message(kernel: Path, args: list[str], message: str):
    res = run_program([*args, str(kernel)])
    assert res.returncode == 1
    assert message in res.stderr.decode()


def test_a_missing_initrd_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    from kos.machine.unicorn.__main__ import main

    missing = tmp_path / "none.tar"
    assert main(["--initrd", str(missing), str(tmp_path / "kernel.elf")]) == 1
    assert capsys.readouterr().err == f"unicorn: cannot read {missing}: No such file or directory\n"


def test_a_file_that_is_not_a_kernel_exits_1(tmp_path: Path):
    bogus = tmp_path / "bogus.elf"
    bogus.write_bytes(b"\x7fELF garbage")
    res = run_program([str(bogus)])
    assert res.returncode == 1
    assert res.stderr.decode().startswith("unicorn: ")


def test_another_unicorn_version_is_refused_with_the_pin(kernel: Path):
    code = textwrap.dedent(f"""
        import sys, unicorn
        unicorn.__version__ = "2.0.0"
        from kos.machine.unicorn.__main__ import main
        sys.exit(main([{str(kernel)!r}]))
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30)
    assert res.returncode == 1
    err = res.stderr.decode()
    assert "pinned to unicorn 2.1.4" in err and "2.0.0 is installed" in err
    assert "pip install unicorn==2.1.4" in err


def test_version_check_in_process(monkeypatch: pytest.MonkeyPatch):
    import unicorn
    monkeypatch.setattr(unicorn, "__version__", "2.1.5")
    with pytest.raises(selfcheck.UnicornUnsupported, match=r"2\.1\.5 is installed"):
        selfcheck.check_unicorn()


def test_the_self_test_finds_the_context_fields():
    q = selfcheck.check_unicorn()
    assert q.error_code != q.old_exception
    assert q.error_code % 4 == 0 and q.old_exception % 4 == 0


def spawn(kernel: Path, interactive: bool) -> pexpect.spawn:
    cmd = unicorn_command(kernel, interactive=interactive)
    child = pexpect.spawn(cmd[0], cmd[1:], timeout=15)
    child.expect_exact("kos> ")
    return child


def test_raw_terminal_passes_control_bytes_to_the_guest(kernel: Path):
    child = spawn(kernel, interactive=False)
    try:
        child.send("uptime\x03")                   # Ctrl-C drops the line in the guest
        child.expect_exact("^C")
        child.expect_exact("kos> ")
        child.send("\x01x")                        # not an escape without --interactive
        child.send("\rhalt\r")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 33


def test_interactive_escape_keys(kernel: Path):
    child = spawn(kernel, interactive=True)
    try:
        child.send("\x01h")
        child.expect_exact("C-a x    exit the emulator")
        child.send("\x01x")
        child.expect_exact("unicorn: terminated")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0


def test_sigterm_ends_the_program_quietly(kernel: Path):
    child = spawn(kernel, interactive=False)
    try:
        os.kill(child.pid, signal.SIGTERM)
        child.expect_exact("terminating on signal 15")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0


def corrupt_the_idt(k: UnicornKernel) -> None:
    """Page faults and double faults find no gate."""
    for vector in (8, 14):
        k.write(k.symbol("idt") + 8 * vector, bytes(8))


def test_a_fault_the_idt_cannot_take_is_a_triple_fault(kernel: Path):
    with UnicornKernel(kernel) as k:
        corrupt_the_idt(k.boot())
        k.console.sendline("crash pf")
        with pytest.raises(ConsoleError, match="the machine ended"):
            k.console.expect_text("never printed", timeout=5)
        assert k.shutdown_reason is not None and "triple fault" in k.shutdown_reason
        assert k.step() is Stop.SHUTDOWN


def serve_piped(k: UnicornKernel, data: bytes) -> tuple[int, bytes]:
    """serve() with data on a pipe for stdin: its status and all it wrote."""
    rin, win = os.pipe()
    rout, wout = os.pipe()
    os.write(win, data)
    os.close(win)
    with k, HostTerminal(False, rin, wout) as term:
        status = serve(k, term)
    os.close(wout)
    output = b""
    while chunk := os.read(rout, 65536):
        output += chunk
    os.close(rin)
    os.close(rout)
    return status, output


def test_serve_holds_piped_input_until_the_kernel_first_idles(kernel: Path):
    # Sent during boot, a byte can land between the driver's drain and its
    # switching the FIFO on, which empties it: input waits for the first idle.
    k = UnicornKernel(kernel)
    steps: list[Stop] = []
    sent_after: list[list[Stop]] = []
    step, send = k.step, k.send

    def recording_step() -> Stop:
        steps.append(step())
        return steps[-1]

    def recording_send(data: bytes | str) -> None:
        sent_after.append(list(steps))
        send(data)

    k.step, k.send = recording_step, recording_send      # type: ignore[method-assign]
    status, output = serve_piped(k, b"help\rhalt\r")
    assert status == 33
    assert b"commands:" in output and b"kernel stopped: halt" in output
    assert Stop.BUSY in steps[:1], "the boot took no time slice: nothing was held"
    assert sent_after and all(Stop.IDLE in before for before in sent_after)


def test_serve_shuts_down_with_status_0_on_a_triple_fault(kernel: Path, capfd: pytest.CaptureFixture[str]):
    k = UnicornKernel(kernel).boot()
    corrupt_the_idt(k)
    status, output = serve_piped(k, b"crash null\r")
    assert status == 0
    assert b"crash: reading address 0" in output
    err = capfd.readouterr().err
    assert "triple fault: exception 11 while delivering a double fault (for vector 14)" in err
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_idle_kernel_sleeps_between_timer_bursts(kernel: Path):
    with UnicornKernel(kernel) as k:
        check_bursts(k.boot())


def check_bursts(k: UnicornKernel) -> None:
    stop = k.step()
    while stop is not Stop.IDLE:
        stop = k.step()
    wait = k.idle_wait()
    assert wait is not None and wait > 0.0
    time.sleep(0.12)                                   # ticks pile up while asleep...
    ticks = k.call("pit_ticks")
    while k.step() is not Stop.IDLE or k.next_event_in() == 0.0:
        pass
    assert k.call("pit_ticks") >= ticks + 10           # ...and all arrive, one by one


def _invoke_run(code: str) -> pexpect.spawn:
    return pexpect.spawn(sys.executable, ["-c", code], cwd=str(paths.ROOT), timeout=30,
                         dimensions=(24, 200))


INVOKE = "from invoke.main import program; program.run(['invoke', 'run'{extra}])"
WITHOUT_QEMU = ("import shutil; which = shutil.which; "
                "shutil.which = lambda name, *a, **k: None if 'qemu' in name else which(name, *a, **k); ")


@pytest.mark.parametrize("code,why", [
    (INVOKE.format(extra=", '--emulator', 'unicorn'"), "requested"),
    (WITHOUT_QEMU + INVOKE.format(extra=""),
     "qemu-system-i386 is not installed; using the embedded emulator"),
], ids=["requested", "fallback-without-qemu"])
def test_invoke_run_boots_on_unicorn_and_says_why(kernel: Path, code: str, why: str):
    child = _invoke_run(code)
    try:
        child.expect_exact(f"run: unicorn ({why})")
        child.expect(r"run: \S+ -m kos.machine.unicorn --memory 64M --interactive "
                     r"--initrd \S+initrd.tar \S+kernel.elf")
        child.expect_exact("kos> ")
        child.send("halt\r")
        child.expect_exact("exit status 33")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
