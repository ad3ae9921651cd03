"""Ending a time slice of emulation. emu_start's own timeout starts a thread
per call that polls every 2 us, which costs more CPU than an idle kernel's
timer tick, and stops the emulation from that thread, which unicorn does
not do safely (slice.c); one long-lived thread that sleeps until the
slice's deadline and then calls `stop` (Slice.expire: a flag the CPU
thread acts on) costs a wake-up. Arming wakes the thread only
when it would otherwise sleep past the new deadline: a slice that ended
early leaves the thread asleep until the old deadline, which is no later
than the next slice's, and waking a thread per slice costs more than the
short slices of a busy guest."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Watchdog:
    def __init__(self, stop: Callable[[], None]) -> None:
        self._stop = stop
        self._cond = threading.Condition()
        self._deadline: float | None = None
        self._wake_at: float | None = None         # when the thread's current sleep ends; None: on notify
        self._fired = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="unicorn-watchdog", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with self._cond:
            while not self._closed:
                if self._deadline is None:
                    self._wake_at = None
                    self._cond.wait()
                    continue
                remaining = self._deadline - time.monotonic()
                if remaining > 0:
                    self._wake_at = self._deadline
                    self._cond.wait(remaining)
                    continue
                # The main thread is inside emu_start (it disarms under this
                # lock), so the stop cannot leak into a later run.
                self._deadline = None
                self._fired = True
                self._stop()

    def arm(self, deadline: float) -> None:
        """Stop the emulation that is about to start at monotonic time deadline."""
        with self._cond:
            self._deadline = deadline
            self._fired = False
            if self._wake_at is None or deadline < self._wake_at:
                self._cond.notify()

    def close(self) -> None:
        """End the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join()

    def disarm(self) -> bool:
        """The emulation ended; return whether the watchdog ended it."""
        with self._cond:
            self._deadline = None
            return self._fired
