"""python -m kos.machine.unicorn [--memory 64M] [--initrd FILE] [--interactive] ELF

Boot a Multiboot kernel in the embedded emulator with COM1 on stdin and
stdout, like `qemu-system-i386 -kernel ELF -serial stdio`. The exit status
is QEMU's: (v << 1) | 1 for a write of v to the debug-exit port, 0 after a
triple fault or a signal, 1 when the emulator cannot start.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kos.machine.unicorn",
                                     description="Run a Multiboot i386 kernel in the embedded "
                                                 "unicorn emulator, its serial port on stdio.")
    parser.add_argument("--memory", "-m", default="64M", help="guest RAM (default 64M)")
    parser.add_argument("--cmdline", default="", help="the multiboot command line")
    parser.add_argument("--initrd", type=Path, help="a file to pass as the first Multiboot module")
    parser.add_argument("--interactive", action="store_true",
                        help="Ctrl-A X leaves, Ctrl-A H lists the keys (as QEMU's mux)")
    parser.add_argument("kernel", type=Path, help="the kernel ELF file")
    args = parser.parse_args(argv)

    try:
        modules = [args.initrd.read_bytes()] if args.initrd is not None else []
    except OSError as e:
        print(f"unicorn: cannot read {args.initrd}: {e.strerror}", file=sys.stderr)
        return 1
    from kos.machine.unicorn.loader import LoadError
    from kos.machine.unicorn.selfcheck import UnicornUnsupported
    try:
        from kos.machine.unicorn.host import HostTerminal, serve
        from kos.machine.unicorn.kernel import UnicornKernel

        kernel = UnicornKernel(args.kernel, args.memory, cmdline=args.cmdline, modules=modules)
    except (ImportError, UnicornUnsupported, LoadError, ValueError, OSError) as e:
        print(f"unicorn: {e}", file=sys.stderr)
        return 1
    if args.interactive:
        print("unicorn: Ctrl-A X leaves, Ctrl-A H lists the keys", file=sys.stderr)
    try:
        with HostTerminal(args.interactive) as term:
            return serve(kernel, term)
    finally:
        kernel.close()


if __name__ == "__main__":
    sys.exit(main())
