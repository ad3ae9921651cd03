"""The KOS memory API backed by the live kernel: page frames (page), and
constants (constants). The buddy and slab functions are kos.kernel.mm.mm_wrapper."""
