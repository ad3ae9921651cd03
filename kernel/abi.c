/* abi.c — the kernel's #define constants, restated where the toolchain can
 * read them.
 *
 * A #define leaves nothing in the image, but an enumerator is in the DWARF
 * debug information with its value. Every constant Python needs (the memory
 * map, error codes, gfp and page flags, orders and zones, mmap flags) is
 * restated here as ABI_<NAME>, and kos.target.abi finds it under <NAME>;
 * struct layouts need nothing: they are in the DWARF already. So Python
 * spells no C constant, and a constant changed here is changed there with
 * the next build. Error codes are negative, as callers see them.
 */
#include "fs/file.h"
#include "fs/fdtable.h"
#include "fs/vfs.h"
#include "include/errno.h"
#include "include/layout.h"
#include "include/mman.h"
#include "mm/buddy.h"
#include "mm/heap/heap.h"
#include "mm/page.h"
#include "mm/paging.h"
#include "mm/slab/slab.h"
#include "mm/vmalloc.h"
#include "mm/vm/mm.h"
#include "proc/proc.h"

enum abi_layout {
    ABI_PAGE_SIZE = PAGE_SIZE,
    ABI_PAGE_SHIFT = PAGE_SHIFT,
    ABI_HEAP_START = HEAP_START,
    ABI_HEAP_SIZE = HEAP_SIZE,
    ABI_HEAP_END = HEAP_END,
    ABI_HEAP_ALIGN = HEAP_ALIGN,
    ABI_STACK_SIZE = STACK_SIZE,
    ABI_MAX_BLOCKS = MAX_BLOCKS,
    ABI_MAX_PROCESS_STACKS = MAX_PROCESS_STACKS,
    ABI_STACK_GUARD_SIZE = STACK_GUARD_SIZE,
    ABI_STACK_SLOT_SIZE = STACK_SLOT_SIZE,
    ABI_STACK_REGION_START = STACK_REGION_START,
    ABI_STACK_REGION_END = STACK_REGION_END,
};

enum abi_errno {
    ABI_ENOENT = -ENOENT,
    ABI_EIO = -EIO,
    ABI_ENXIO = -ENXIO,
    ABI_ENOEXEC = -ENOEXEC,
    ABI_EBADF = -EBADF,
    ABI_EEXIST = -EEXIST,
    ABI_ESRCH = -ESRCH,
    ABI_EPERM = -EPERM,
    ABI_ENOMEM = -ENOMEM,
    ABI_EACCES = -EACCES,
    ABI_EFAULT = -EFAULT,
    ABI_EBUSY = -EBUSY,
    ABI_ETXTBSY = -ETXTBSY,
    ABI_ENOTDIR = -ENOTDIR,
    ABI_EISDIR = -EISDIR,
    ABI_EINVAL = -EINVAL,
    ABI_ENAMETOOLONG = -ENAMETOOLONG,
};

enum abi_mman {
    ABI_PROT_NONE = PROT_NONE,
    ABI_PROT_READ = PROT_READ,
    ABI_PROT_WRITE = PROT_WRITE,
    ABI_PROT_EXEC = PROT_EXEC,
    ABI_PROT_RW = PROT_RW,
    ABI_PROT_RWX = PROT_RWX,
    ABI_MAP_SHARED = MAP_SHARED,
    ABI_MAP_PRIVATE = MAP_PRIVATE,
    ABI_MAP_FIXED = MAP_FIXED,
    ABI_MAP_ANONYMOUS = MAP_ANONYMOUS,
    ABI_MAP_GROWSDOWN = MAP_GROWSDOWN,
    ABI_MAP_LOCKED = MAP_LOCKED,
    ABI_MAP_POPULATE = MAP_POPULATE,
};

enum abi_pages {
    ABI_MAX_ORDER = MAX_ORDER,
    ABI_NR_ORDERS = NR_ORDERS,
    ABI_ZONE_DMA = ZONE_DMA,
    ABI_ZONE_NORMAL = ZONE_NORMAL,
    ABI_ZONE_HIGHMEM = ZONE_HIGHMEM,
    ABI_NR_ZONES = NR_ZONES,
    ABI_ZONE_DMA_END = ZONE_DMA_END,
    ABI_ZONE_NORMAL_END = ZONE_NORMAL_END,
    ABI_GFP_KERNEL = GFP_KERNEL,
    ABI_GFP_DMA = GFP_DMA,
    ABI_GFP_HIGHMEM = GFP_HIGHMEM,
    ABI_GFP_THISZONE = GFP_THISZONE,
    ABI_GFP_MASK = GFP_MASK,
    ABI_PG_RESERVED = PG_reserved,
    ABI_PG_FREE = PG_free,
    ABI_PG_HEAD = PG_head,
    ABI_PG_SLAB = PG_slab,
    ABI_PG_DIRTY = PG_dirty,
    ABI_PG_LOCKED = PG_locked,
    ABI_PG_WRITTEN = PG_written,
    ABI_PG_ZONE_SHIFT = PG_ZONE_SHIFT,
};

enum abi_paging {
    ABI_DIRECT_MAP_END = DIRECT_MAP_END,
    ABI_KMAP_START = KMAP_START,
    ABI_KMAP_END = KMAP_END,
    ABI_KMAP_PAGES = KMAP_PAGES,
    ABI_USER_START = USER_START,
    ABI_TABLE_POOL_PAGES = TABLE_POOL_PAGES,
    ABI_MM_POOL_SIZE = MM_POOL_SIZE,
    ABI_MM_INLINE_VMAS = MM_INLINE_VMAS,
};

enum abi_slab {
    ABI_SLAB_MAX_CACHES = SLAB_MAX_CACHES,
    ABI_SLAB_NAME_MAX = SLAB_NAME_MAX,
    ABI_SLAB_MAX_OBJECT = SLAB_MAX_OBJECT,
};

enum abi_proc {
    ABI_VM_SHARED = VM_SHARED,
    ABI_VM_GROWSDOWN = VM_GROWSDOWN,
    ABI_PID_SHELL = PID_SHELL,
    ABI_RLIMIT_AS = RLIMIT_AS,
    ABI_RLIM_INFINITY = RLIM_INFINITY,
};

enum abi_vm {
    ABI_VMALLOC_START = VMALLOC_START,
    ABI_VMALLOC_END = VMALLOC_END,
    ABI_USER_END = USER_END,
    ABI_MM_POLICY_WX = MM_POLICY_WX,
};

enum abi_fs {
    ABI_O_RDONLY = O_RDONLY,
    ABI_O_WRONLY = O_WRONLY,
    ABI_O_RDWR = O_RDWR,
    ABI_O_ACCMODE = O_ACCMODE,
    ABI_O_CREAT = O_CREAT,
    ABI_O_EXCL = O_EXCL,
    ABI_O_TRUNC = O_TRUNC,
    ABI_O_APPEND = O_APPEND,
    ABI_O_DIRECTORY = O_DIRECTORY,
    ABI_SEEK_SET = SEEK_SET,
    ABI_SEEK_CUR = SEEK_CUR,
    ABI_SEEK_END = SEEK_END,
    ABI_FD_MAX = FD_MAX,
    ABI_FS_PATH_MAX = FS_PATH_MAX,
    ABI_FS_NAME_MAX = FS_NAME_MAX,
    ABI_S_IFMT = S_IFMT,
    ABI_S_IFDIR = S_IFDIR,
    ABI_S_IFREG = S_IFREG,
    ABI_MS_SYNC = MS_SYNC,
    ABI_MS_ASYNC = MS_ASYNC,
};

/* The compiler describes an enum in the debug information only if some
 * object has its type: this one has them all, and nothing reads it. */
struct abi_constants {
    enum abi_layout layout;
    enum abi_errno errno_codes;
    enum abi_mman mman;
    enum abi_pages pages;
    enum abi_paging paging;
    enum abi_slab slab;
    enum abi_proc proc;
    enum abi_vm vm;
    enum abi_fs fs;
    /* Layouts Python reads that no kernel object has as a type. */
    struct stat64 stat64;
    struct linux_dirent64 dirent64;
    struct iobuf iobuf;
} abi_constants;
