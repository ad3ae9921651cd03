/* mman.h — the protection and mapping flags of the KOS memory API
 * (mmap, mprotect), with the specification's values, which are Linux's.
 */
#ifndef KOS_MMAN_H
#define KOS_MMAN_H

/* Protection: what a mapping's pages allow. */
#define PROT_NONE   0x0
#define PROT_READ   0x1
#define PROT_WRITE  0x2
#define PROT_EXEC   0x4
#define PROT_RW     (PROT_READ | PROT_WRITE)
#define PROT_RWX    (PROT_READ | PROT_WRITE | PROT_EXEC)

/* Mapping flags. */
#define MAP_SHARED     0x01    /* writes are seen by every mapping of the object */
#define MAP_PRIVATE    0x02    /* copy on write */
#define MAP_FIXED      0x10    /* exactly at the address given */
#define MAP_ANONYMOUS  0x20    /* no file: zero-filled pages */
#define MAP_GROWSDOWN  0x0100  /* a stack: grows towards lower addresses */
#define MAP_LOCKED     0x2000  /* pages stay in memory */
#define MAP_POPULATE   0x8000  /* frames are allocated at mmap time, not on first touch */

/* Every bit mmap and mprotect know: anything else is refused with EINVAL. */
#define PROT_MASK  PROT_RWX
#define MAP_MASK   (MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_GROWSDOWN | \
                    MAP_LOCKED | MAP_POPULATE)

/* msync flags. */
#define MS_ASYNC       1
#define MS_INVALIDATE  2
#define MS_SYNC        4

#endif
