"""The bochsrc of one run, as data: the ISO on the first IDE channel's CD,
COM1 on a TCP socket to the runner, a text-mode display on the runner's pty."""

from __future__ import annotations

from pathlib import Path

from kos.machine.memsize import MIB, parse_size

BIOS = Path("/usr/share/bochs/BIOS-bochs-latest")     # Debian bochsbios
VGA_BIOS = Path("/usr/share/vgabios/vgabios.bin")     # Debian vgabios
# Bochs 2.7 refuses to start with more guest RAM than this (its host_size
# limit: it allocates guest RAM on the host, 2048 MiB at most), so a larger
# --memory is refused before anything starts.
MAX_MEMORY = 2048 * MIB
# Instructions per emulated second. Timer-driven waits in the BIOS cost
# fewer host instructions when this is low; 20 M boots fastest here.
IPS = 20_000_000


def memory_size(memory: str) -> int:
    """memory in bytes, as every machine reads it; ValueError for a size
    Bochs cannot emulate, saying what it can and what can."""
    size = parse_size(memory)
    if size > MAX_MEMORY:
        raise ValueError(f"memory size {memory!r} is more than Bochs can emulate (at most "
                         f"{MAX_MEMORY // MIB}M); QEMU boots the same ISO with more: --emulator qemu --iso")
    return size


def bochsrc(image: Path, port: int, memory: str, log: Path, realtime: bool) -> str:
    """realtime: emulated time follows the wall clock (an interactive run,
    where uptime should be right); otherwise it runs as fast as the host can
    (tests: a boot in about 3 s instead of 5)."""
    lines = [
        f"megs: {memory_size(memory) // MIB}",
        f"romimage: file={BIOS}",
        f"vgaromimage: file={VGA_BIOS}",
        f"ata0-master: type=cdrom, path={image}, status=inserted",
        "boot: cdrom",
        # Debian's build has no nogui library; term draws the (empty) VGA
        # screen on the runner's pty, out of the serial console's way.
        "display_library: term",
        f"log: {log}",
        "panic: action=fatal",
        "error: action=report",
        f"com1: enabled=1, mode=socket-client, dev=127.0.0.1:{port}",
        f"clock: sync={'realtime' if realtime else 'none'}, time0=local",
        # A triple fault stops the run (as QEMU's -no-reboot does) instead of
        # rebooting into GRUB.
        f"cpu: ips={IPS}, reset_on_triple_fault=0",
        "",
    ]
    return "\n".join(lines)
