"""ProcessManager: the processes of a live KOS kernel, as the
specification's process integration uses them.

    from kos.process import ProcessManager
    process_mgr = ProcessManager()
    pid = process_mgr.spawn("/bin/memhog", ["8M"], memory_limit=4 * 1024 * 1024)
    status = process_mgr.wait(pid)            # a waitpid status word: os.WEXITSTATUS(status) == 1
    process_mgr.set_memory_limit(pid, 100 * 1024 * 1024)
    process_mgr.get_memory_usage(pid)         # virtual_size, resident, locked (bytes), faults

Processes are the kernel's (kernel/proc): spawn and list go through the
shell's own commands (run ... &, ps), so a spawned program is a child of
the shell, is listed by ps and is reaped by it; kill and the limits are
the kernel's proc_kill and proc_setrlimit, called directly, and the process
table and address spaces are read directly (proc_find, the DWARF layouts
of struct proc and struct mm). wait() lets the machine
run until the child is a zombie, then has the shell reap it. A refused
request raises KOSError with the kernel's errno and message.

The kernel is a booted in-process session (kos.machine.unicorn), which
both runs direct calls and has a console; the default is
kos.kernel.default_kernel().
"""

from __future__ import annotations

import re
import time
from typing import Any

from kos import kernel as kk
from kos.exceptions import KOSError
from kos.kernel import call, call_lock, s32, u32
from kos.memory import constants as C

__all__ = ["ProcessManager"]

# SIGTERM and SIGKILL, Linux's numbers, which the kernel uses (proc.h).
SIGTERM, SIGKILL = 15, 9

_PS = re.compile(r"^\s*(\d+)\s+(\d+)\s+(\S+)\s+(\S+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(\d+)$", re.M)
_ENDED = re.compile(r"^run: pid (\d+) (exited with status (\d+)|killed by (\w+))$", re.M)
_ERROR = re.compile(r"^\w+: error (E\w+) \((-\d+)\):? ?(.*)$", re.M)
_SIGNALS = {"SIGILL": 4, "SIGBUS": 7, "SIGFPE": 8, "SIGKILL": 9, "SIGSEGV": 11, "SIGTERM": 15}


class ProcessManager:
    """Spawn, list, wait for, kill and limit the kernel's processes."""

    def __init__(self, *, kernel: Any = None) -> None:
        self._chosen = kernel
        self._ended: dict[int, int] = {}
        self.output = ""
        """What programs printed between the shell's commands (their stdout
        is the console), in the order it came."""

    @property
    def kernel(self) -> Any:
        return kk.resolve(self._chosen)

    def _run(self, command: str) -> str:
        """A shell command's output; the reports of background programs that
        ended, which the shell prints before its prompt, are kept for wait().
        A background program may print in the middle of it (the console is
        its stdout too): the echo is looked for, not expected first, and the
        callers search the output for the lines they want."""
        with call_lock():
            k = self.kernel
            # Output the machine made while no command ran is the programs'.
            self.output += k.drain_serial()
            k.console.sendline(command)
            lines = k.console.wait_prompt().splitlines()
        if command in lines:
            lines.remove(command)
        out = "\n".join(lines)
        for m in _ENDED.finditer(out):
            pid = int(m.group(1))
            self._ended[pid] = int(m.group(3)) << 8 if m.group(3) is not None else _SIGNALS[m.group(4)]
        return _ENDED.sub("", out).strip()

    @staticmethod
    def _refused(out: str) -> None:
        m = _ERROR.search(out)
        if m:
            raise KOSError(out, int(m.group(2)), m.group(3) or out)

    def spawn(self, path: str, args: list[str] | tuple[str, ...] = (), *,
              memory_limit: int | None = None) -> int:
        """Start the program at path (in the initrd) with args, in the
        background: its pid. memory_limit, if given, is its address-space
        limit from its first instruction on (it inherits it from the shell,
        whose own limit is put back at once)."""
        if not isinstance(path, str) or any(not isinstance(a, str) for a in args):
            raise TypeError("path and args must be strings")
        words = [path, *args]
        if any(not w or any(ch.isspace() for ch in w) or w == "&" for w in words):
            raise ValueError(f"the shell cannot pass these words as they are: {words!r}")
        with call_lock():
            if memory_limit is not None:
                shell_limit = self._limit_of(1)
                self._set_limit(1, memory_limit)
            try:
                out = self._run(f"run {' '.join(words)} &")
            finally:
                if memory_limit is not None:
                    self._set_limit(1, shell_limit)
        self._refused(out)
        m = re.search(r"run: pid (\d+) in the background", out)
        if not m:
            raise KOSError(f"run {path}: {out}")
        return int(m.group(1))

    def list(self) -> list[dict[str, int | str]]:
        """Every process, as ps shows it: pid, ppid, state, name, vsz and
        rss (bytes), limit (bytes, or None when unlimited), faults."""
        out = self._run("ps")
        rows: list[dict[str, Any]] = []
        for m in _PS.finditer(out):
            pid, ppid, state, name, vsz, rss, limit, faults = m.groups()
            rows.append({"pid": int(pid), "ppid": int(ppid), "state": state, "name": name,
                         "vsz": int(vsz) * 1024, "rss": int(rss) * 1024,
                         "limit": None if limit == "unlimited" else int(limit), "faults": int(faults)})
        return rows

    def _proc(self, pid: int) -> dict[str, Any] | None:
        """struct proc of pid by field, or None if there is no such process."""
        k = self.kernel
        with call_lock():
            p = u32(call(k, "proc_find", pid))
            if not p:
                return None
            layout = kk.abi(k).struct("proc")
            fields = layout.unpack(kk.read(k, p, layout.size))
        fields["address"] = p
        return fields

    def wait(self, pid: int, timeout: float = 60.0) -> int:
        """Wait for a child of the shell to end: its waitpid status word
        (os.WIFEXITED, os.WEXITSTATUS, os.WTERMSIG read it). ChildProcessError
        if pid is no process the shell would reap; TimeoutError after timeout
        seconds of the machine running."""
        deadline = time.monotonic() + timeout
        zombie = kk.abi(self.kernel).constant("PROC_ZOMBIE")
        while pid not in self._ended:
            fields = self._proc(pid)
            if fields is None:
                self._run("")
                if pid in self._ended:
                    break
                raise ChildProcessError(f"no process {pid} to wait for")
            if fields["state"] == zombie:
                self._run("")                  # the shell reaps it and says how it ended
                continue
            if time.monotonic() > deadline:
                raise TimeoutError(f"pid {pid} still running after {timeout} s")
            with call_lock():
                self.kernel.run_until_output(time.monotonic() + 0.05)
                self.output += self.kernel.drain_serial()
        return self._ended.pop(pid)

    def kill(self, pid: int, sig: int = SIGTERM) -> None:
        """Send sig (SIGTERM by default) to pid (proc_kill): the process
        dies of it (a zombie, there until it is reaped, is left as it is).
        KOSError ESRCH for no such process, EPERM for pid 0 and 1."""
        if isinstance(pid, bool) or not isinstance(pid, int) or not isinstance(sig, int):
            raise TypeError("pid and sig must be ints")
        with call_lock():
            err = s32(call(self.kernel, "proc_kill", pid, sig))
        if err:
            what = "pid 0 and 1 cannot be killed" if err == C.EPERM else "no such process"
            raise KOSError(f"kill {pid}: {C.error_name(err)} ({err}): {what}", err, what)

    def _limit_of(self, pid: int) -> int:
        fields = self._proc(pid)
        if fields is None:
            raise KOSError(f"no such process: {pid}", C.ESRCH)
        k = self.kernel
        abi = kk.abi(k)
        rlimit = abi.struct("rlimit")
        at = fields["address"] + abi.struct("proc").offsetof("rlim") + C.RLIMIT_AS * rlimit.size
        return int(rlimit.unpack(kk.read(k, at, rlimit.size))["rlim_cur"])

    def _set_limit(self, pid: int, limit: int) -> None:
        """proc_setrlimit(RLIMIT_AS) as the shell's limit command sets it:
        the current limit, the maximum raised to it if need be."""
        k = self.kernel
        abi = kk.abi(k)
        with call_lock():
            fields = self._proc(pid)
            if fields is None or fields["state"] == abi.constant("PROC_ZOMBIE") or pid == 0:
                raise KOSError(f"no such process: {pid}", C.ESRCH, "no such process")
            rlimit = abi.struct("rlimit")
            at = fields["address"] + abi.struct("proc").offsetof("rlim") + C.RLIMIT_AS * rlimit.size
            cur_max = int(rlimit.unpack(kk.read(k, at, rlimit.size))["rlim_max"])
            kk.write(k, k.scratch, limit.to_bytes(4, "little") + max(limit, cur_max).to_bytes(4, "little"))
            err = s32(call(k, "proc_setrlimit", fields["address"], C.RLIMIT_AS, k.scratch))
        if err:
            raise KOSError(f"limit {pid}: {C.error_name(err)} ({err}): not a valid limit", err)

    def set_memory_limit(self, pid: int, limit: int) -> None:
        """Set pid's address-space limit in bytes (RLIMIT_AS): the kernel
        refuses its mappings beyond it with ENOMEM."""
        if isinstance(limit, bool) or not isinstance(limit, int) or isinstance(pid, bool) or \
                not isinstance(pid, int):
            raise TypeError("pid and limit must be ints")
        if not 0 <= limit < 1 << 32:
            raise ValueError(f"limit must be 0 .. 2**32 - 1 bytes, not {limit}")
        self._set_limit(pid, limit)

    def get_memory_limit(self, pid: int) -> int:
        return self._limit_of(pid)

    def get_memory_usage(self, pid: int) -> dict[str, int]:
        """pid's memory: virtual_size, resident and locked (bytes), faults
        (minor and copy-on-write faults resolved); all 0 for a kernel thread."""
        fields = self._proc(pid)
        if fields is None:
            raise KOSError(f"no such process: {pid}", C.ESRCH)
        mm = u32(int(fields["mm"]))
        if not mm:
            return {"virtual_size": 0, "resident": 0, "locked": 0, "faults": 0}
        k = self.kernel
        layout = kk.abi(k).struct("mm")
        with call_lock():
            st = layout.unpack(kk.read(k, mm, layout.size))
        return {
            "virtual_size": int(st["total_pages"]) * C.PAGE_SIZE,
            "resident": int(st["resident_pages"]) * C.PAGE_SIZE,
            "locked": int(st["locked_pages"]) * C.PAGE_SIZE,
            "faults": int(st["minor_faults"]) + int(st["cow_faults"]),
        }
