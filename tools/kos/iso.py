"""A GRUB 2 rescue ISO of the kernel (build/kos.iso), for QEMU -cdrom and Bochs.

GRUB talks on COM1 only (serial at 115200, `terminal_input serial;
terminal_output serial`), so the whole boot, menu included, is on the same
serial console the kernel uses, and it boots the first entry without a
menu (hotkey Backspace: at once); the second (hotkey `t`) boots with
ktest=all. The initrd becomes a Multiboot module of both when
build/initrd.tar exists.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from kos import atomic, paths
from kos.build import BuildError, ToolMissing

ISO = paths.BUILD / "kos.iso"
INITRD = paths.BUILD / "initrd.tar"

# Program -> the Debian package that provides it. grub-mkrescue runs the
# other two; grub-pc-bin holds the i386-pc modules it puts on the CD.
TOOLS = {"grub-mkrescue": "grub-common", "xorriso": "xorriso", "mformat": "mtools"}
GRUB_PC_MODULES = Path("/usr/lib/grub/i386-pc")
APT_LINE = "apt-get install grub-pc-bin grub-common xorriso mtools"


def missing_tools() -> list[str]:
    """Packages to install before an ISO can be made (empty when all are there)."""
    missing = [pkg for prog, pkg in TOOLS.items() if shutil.which(prog) is None]
    if not GRUB_PC_MODULES.is_dir():
        missing.insert(0, "grub-pc-bin")
    return missing


# The menu's second entry runs the in-kernel suites at boot and exits (33
# when all pass), like `./kos ktest`. The menu stays hidden (timeout 0):
# the first entry boots unless a hotkey or Esc is already waiting on the
# serial line when GRUB looks (type it while the BIOS runs). Backspace
# picks the first entry at once: with nothing typed, GRUB 2.06 spends
# about 3 s (QEMU) or 2 s (Bochs) on its way through the hidden timeout to
# the default entry, and a Backspace left over reaches an empty shell
# line, where it does nothing.
BOOT_HOTKEY = "\b"
BOOT_HOTKEY_NAME = "backspace"        # GRUB's name for the key BOOT_HOTKEY types
KTEST_ENTRY = "KOS in-kernel tests (ktest=all)"
KTEST_HOTKEY = "t"


def grub_config(kernel_name: str, initrd_name: str | None = None, cmdline: str = "") -> str:
    """grub.cfg for the CD: serial console, no menu delay, the kernel
    (with cmdline) and the in-kernel tests as a second entry."""
    module = [f"    module /boot/{initrd_name} {initrd_name}"] if initrd_name else []

    def entry(title: str, options: str, hotkey: str = "") -> list[str]:
        key = f" --hotkey={hotkey}" if hotkey else ""
        return [f'menuentry "{title}"{key} {{', f"    multiboot /boot/{kernel_name} {options}".rstrip(),
                *module, "    boot", "}"]

    return "\n".join([
        "serial --unit=0 --speed=115200",
        "terminal_input serial",
        "terminal_output serial",
        "set timeout_style=hidden",
        "set timeout=0",
        *entry("KOS", cmdline, BOOT_HOTKEY_NAME),
        *entry(KTEST_ENTRY, " ".join([*(o for o in cmdline.split() if not o.startswith("ktest=")),
                                      "ktest=all"]), KTEST_HOTKEY),
        "",
    ])


def build_iso(kernel: Path = paths.KERNEL_ELF, out: Path = ISO, initrd: Path | None = INITRD,
              cmdline: str = "", verbose: bool = False) -> Path:
    """Make out from kernel and initrd as its module (by default
    build/initrd.tar, left out while it does not exist; None: no module).
    Skipped when out is newer than its inputs and its grub.cfg is
    the same (GRUB's tools are then not needed). Raises ToolMissing
    naming the packages, BuildError with grub-mkrescue's own words."""
    if initrd == INITRD and not INITRD.exists():
        initrd = None
    config = grub_config(kernel.name, initrd.name if initrd else None, cmdline)
    stamp = out.with_suffix(".cfg")
    inputs = [kernel, *([initrd] if initrd else [])]
    if (out.exists() and stamp.exists() and stamp.read_text() == config
            and all(out.stat().st_mtime >= p.stat().st_mtime for p in inputs)):
        return out
    missing = missing_tools()
    if missing:
        raise ToolMissing(f"grub-mkrescue cannot make an ISO: install `apt-get install {' '.join(missing)}`")
    with tempfile.TemporaryDirectory(prefix="kos-iso-") as tmp:
        root = Path(tmp)
        (root / "boot" / "grub").mkdir(parents=True)
        (root / "boot" / "grub" / "grub.cfg").write_text(config)
        for p in inputs:
            shutil.copy2(p, root / "boot" / p.name)
        out.parent.mkdir(parents=True, exist_ok=True)
        # Only what a BIOS CD boot of a Multiboot kernel needs: a much
        # smaller image than the default every-platform one.
        with atomic.replacing(out) as partial:
            cmd = ["grub-mkrescue", "-o", str(partial), "--locales=", "--fonts=", "--themes=",
                   "--install-modules=multiboot serial terminal normal boot iso9660 biosdisk part_msdos",
                   str(root)]
            if verbose:
                print("iso: " + " ".join(cmd))
            res = subprocess.run(cmd, capture_output=True, text=True)
            if res.returncode != 0:
                raise BuildError(f"grub-mkrescue failed ({res.returncode}):\n{res.stderr.strip()}")
    atomic.write_bytes(stamp, config.encode())
    return out
