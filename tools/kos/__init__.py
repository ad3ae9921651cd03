"""KOS toolchain: build, run, debug and test the KOS kernel from Python."""
