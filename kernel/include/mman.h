/* mman.h — the protection and mapping flags of mmap, munmap and mprotect,
 * with the values of the KOS memory API (which are Linux's on i386). */
#ifndef KOS_MMAN_H
#define KOS_MMAN_H

#define PROT_NONE      0x0
#define PROT_READ      0x1
#define PROT_WRITE     0x2
#define PROT_EXEC      0x4

#define MAP_SHARED     0x01
#define MAP_PRIVATE    0x02
#define MAP_FIXED      0x10
#define MAP_ANONYMOUS  0x20
#define MAP_GROWSDOWN  0x0100
#define MAP_LOCKED     0x2000
#define MAP_POPULATE   0x8000

#define PROT_MASK  (PROT_READ | PROT_WRITE | PROT_EXEC)
#define MAP_MASK   (MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_GROWSDOWN | \
                    MAP_LOCKED | MAP_POPULATE)

#endif
