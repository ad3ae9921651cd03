"""The kernel memory allocators of KOS (buddy, slab) as Python functions: see mm_wrapper."""
