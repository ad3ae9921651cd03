"""What the toolchain knows about a compiled target, read from the binary itself:
the C/Python interface (kos.target.abi)."""
