/* mm.h — address spaces: struct mm (one per address space) and struct vma
 * (one per mapped range), and the operations on them.
 *
 * The kernel's first GiB is shared (paging.h); an mm owns the rest: its PDPT
 * (32 bytes, inside struct mm), up to three page directories (1–4 GiB, each
 * made when the first page table under it is and freed with its last;
 * either change reloads CR3, since PAE reads the PDPT entries at the load),
 * the page tables under them (allocated on first use, freed when a munmap
 * empties them; both come from and go back to the table pool of zeroed
 * frames, pgtable.c), and its VMAs. The boot address space's
 * directories are static and stay.
 *
 * VMAs live in a sorted array, by address, without overlaps: lookup is a
 * binary search, insertion and removal (of one VMA or of a whole range of
 * them) a binary search and one memmove. The first MM_INLINE_VMAS are
 * inside struct mm; a larger array is allocated when they are not enough.
 * Files: vma.c (the array), pgtable.c (user page tables), mmap.c (mmap,
 * munmap, mprotect), fault.c (the page-fault handler), filemap.c (file
 * mappings: their faults, msync, truncation), uaccess.S/.c.
 */
#ifndef KOS_VM_MM_H
#define KOS_VM_MM_H

#include <stdint.h>
#include "../paging.h"
#include "../page_alloc.h"
#include "../../lib/list.h"

/* vma.flags */
#define VM_SHARED     0x1u    /* MAP_SHARED: pages belong to vma->obj */
#define VM_GROWSDOWN  0x2u    /* a stack: a fault just below grows it */
#define VM_LOCKED     0x4u    /* MAP_LOCKED: populated at mmap, counted locked */
#define VM_MAYWRITE   0x8u    /* a file mapping mprotect may make writable (Linux's VM_MAYWRITE) */
#define VM_WAS_WRITE  0x10u   /* has been writable: under W^X it never becomes executable */
#define VM_DENYWRITE  0x20u   /* a program's image (exec): its file may not be opened for
                                 writing while it is mapped (ETXTBSY) */

/* mm.policy: the address space's memory policy, off by default. */
#define MM_POLICY_WX  0x1u    /* W^X: no mapping is writable and executable, nor executable after writable */

/* The backing object of a shared anonymous mapping: its frames by page
 * index. Every VMA that maps part of it holds one reference; the frames go
 * back to buddy with the last. (Private anonymous memory has no object: its
 * frames are owned by the page table entries that map them.) */
struct vm_object {
    uint32_t refs;
    uint32_t npages;
    struct page **pages;
};

struct mm;
struct vma;

/* A private frame shared with another address space since fork: the entry
 * is read-only until a write copies the frame (fork.c). An available bit
 * of the PAE entry, which the MMU ignores. */
#define PTE_COW  (1ull << 9)

/* What the fault handler could not resolve: kind and reason for reports. */
enum vm_fault_kind {
    FAULT_NONE,
    FAULT_NOT_MAPPED,         /* no VMA there */
    FAULT_PROTECTION,         /* a VMA whose prot forbids the access */
    FAULT_STACK_LIMIT,        /* below a GROWSDOWN VMA, beyond its limit or into another mapping */
    FAULT_OOM,                /* no frame (or page table) to fill the page with */
    FAULT_SIGBUS,             /* a file page wholly beyond the end of the file: SIGBUS */
    NR_FAULT_KINDS
};

/* A file mapping's pages come from the file through these (Linux's
 * vm_operations_struct); fs/ implements them, so mm/vm needs no file. */
struct vm_ops {
    /* The frame holding page pgoff of v->file, with one reference for
     * the mapping (page_get; the unmap puts it back), or NULL and *kind:
     * FAULT_SIGBUS beyond the end of the file, FAULT_OOM. */
    struct page *(*get_page)(struct vma *v, uint32_t pgoff, enum vm_fault_kind *kind);
    /* A store through a shared mapping dirtied p (gathered from a PTE). */
    void (*dirty)(const struct vma *v, struct page *p);
    /* One more VMA names v->file (mmap, split, fork): 0, or -ETXTBSY for
     * a VM_DENYWRITE VMA of a file open for writing; one fewer (munmap,
     * merge, exit). */
    int (*open)(struct vma *v);
    void (*release)(struct vma *v);
    /* The file's name for maps, into buf. */
    void (*name)(const struct vma *v, char *buf, unsigned size);
};

/* What a file mapping maps: one per file, inside the file's inode (as
 * Linux's address_space), its ops reaching the file's pages. */
struct vm_mapping {
    const struct vm_ops *ops;
};

/* [start, end), page aligned, start < end. pgoff: the page index in obj
 * (or in the file) of start; 0 for private anonymous memory. 24 bytes. */
struct vma {
    uint32_t start, end;
    uint16_t prot;            /* PROT_* */
    uint16_t flags;           /* VM_* */
    struct vm_object *obj;
    uint32_t pgoff;
    struct vm_mapping *file;  /* a file mapping: the file's; else NULL */
};

/* A file to map: vm_mmap_file's last argument. may_write: the file was
 * opened for writing (MAP_SHARED with PROT_WRITE needs it, now or later).
 * deny_write: a program's image, which keeps the file from being opened
 * for writing while mapped (VM_DENYWRITE; exec's segments only). */
struct vm_file {
    struct vm_mapping *mapping;
    uint32_t pgoff;
    int may_write;
    int deny_write;
};

enum vm_access { ACCESS_READ, ACCESS_WRITE, ACCESS_FETCH };

struct vm_fault_report {
    uint32_t addr;
    enum vm_access access;
    enum vm_fault_kind kind;
    int has_vma;
    struct vma vma;           /* a copy: the VMA may be gone by the time it is printed */
};

#define MM_INLINE_VMAS 8u

/* struct mm lives in low memory (the mm pool in the kernel image, or the
 * heap), where physical == virtual, so CR3 takes pdpt's address as it is;
 * PAE wants it 32-byte aligned. mm_create clears it up to vma_inline. */
struct mm {
    pte_t pdpt[4] __attribute__((aligned(32)));
    pte_t *pd[3];                /* the page directories of 1–2, 2–3, 3–4 GiB, or NULL: none yet */
    uint16_t pd_tables[3];       /* page tables under each directory: it goes with its last */
    struct vma *vmas;            /* sorted by start: vma_inline, or kmalloc'd once that is full */
    uint32_t nr_vmas, cap_vmas;
    /* Counters. */
    uint32_t total_pages;        /* pages covered by VMAs (virtual size / 4 KiB) */
    uint32_t resident_pages;     /* PTEs mapping a frame of their own (the zero page is not one) */
    uint32_t locked_pages;
    uint32_t pt_pages;           /* page directories and page tables */
    uint32_t minor_faults;
    uint32_t cow_faults;
    uint32_t faults[NR_FAULT_KINDS];
    /* Limits. */
    uint32_t limit_as;           /* bytes of address space (RLIMIT_AS) */
    uint32_t limit_stack;        /* how far a GROWSDOWN VMA may reach below its end */
    struct vm_fault_report last_fault;
    const char *why;             /* the reason of the last refused mmap, munmap or mprotect */
    uint32_t policy;             /* MM_POLICY_* */
    uint32_t policy_refusals;    /* mmap and mprotect calls the policy refused */
    struct list_head link;       /* in the list of every address space (mm.c) */
    /* A small program's VMAs (text, data, heap, stack, a few mappings) fit
     * here, so that making an address space, for exec or fork, takes one
     * allocation. */
    struct vma vma_inline[MM_INLINE_VMAS];
};

#define MM_DEFAULT_STACK_LIMIT  0x800000u   /* 8 MiB, Linux's RLIMIT_STACK */

/* User pages prefer HighMem: the kernel touches their bytes only through
 * kmap (highmem.h), and leaves low memory to what it must reach directly.
 * Page tables (the PDPT, directories and tables) come from low memory
 * (alloc_table_page): the kernel walks them through the identity map. */
#define VM_GFP_USER   GFP_HIGHMEM

/* Bring up the VM: the first user address space (the shell's), loaded. */
void vm_init(void);

/* The address space whose page tables are loaded. */
struct mm *mm_current(void);

/* struct mm kept in the kernel image for mm_create (mm.c): one for each
 * process there can be (MAX_PROCESS_STACKS); more come from the heap. */
#define MM_POOL_SIZE 32u

/* A fresh, empty address space, or NULL without memory. */
struct mm *mm_create(void);
/* The struct mm left in the pool. */
uint32_t mm_pool_count(void);
/* The address space after mm in the list of all of them (NULL: the
 * first), or NULL after the last. */
struct mm *mm_next(struct mm *mm);
/* Make the page directory covering va (user space; there is none yet).
 * NULL without memory. */
pte_t *mm_directory_make(struct mm *mm, uint32_t va);
/* The page directory covering va (user space), made if alloc. NULL if
 * there is none (or no memory for it). Every page-table lookup passes
 * here, most finding the directory there: that part is inline. */
static inline pte_t *mm_directory(struct mm *mm, uint32_t va, int alloc)
{
    pte_t *pd = mm->pd[(va >> PDPT_SHIFT) - 1];
    return pd || !alloc ? pd : mm_directory_make(mm, va);
}
/* Free the page directory covering va if no page table is left under it
 * (pgtable_trim calls it after freeing a table). */
void mm_directory_trim(struct mm *mm, uint32_t va);
/* Unmap everything and free the page tables and the mm itself. */
void mm_destroy(struct mm *mm);
/* Load mm's page tables. */
void mm_activate(struct mm *mm);
/* Set the memory policy (MM_POLICY_* bits; others are refused with
 * -EINVAL) and the address-space limit in bytes (RLIMIT_AS: mappings that
 * would pass it fail with ENOMEM; mappings already there stay). */
int mm_set_policy(struct mm *mm, uint32_t policy);
void mm_set_limit_as(struct mm *mm, uint32_t bytes);

/* The shared page of zeros that unwritten private pages map read-only. */
uint32_t vm_zero_page(void);

/* mmap, munmap, mprotect with Linux's semantics (mm/vm/mmap.c); vm_mmap
 * maps anonymous memory (files: vm_mmap_file below). mmap returns the address or a negative errno (an address
 * at or above 2 GiB is negative as an int32_t too: vm_mmap_failed tells). */
int32_t vm_mmap(struct mm *mm, uint32_t addr, uint32_t len, uint32_t prot, uint32_t flags);
static inline int vm_mmap_failed(int32_t r) { return (uint32_t)r >= (uint32_t)-4095; }
int vm_munmap(struct mm *mm, uint32_t addr, uint32_t len);
int vm_mprotect(struct mm *mm, uint32_t addr, uint32_t len, uint32_t prot);
/* mmap of a file (flags without MAP_ANONYMOUS): as vm_mmap, plus -EINVAL
 * for MAP_GROWSDOWN and -EACCES for a writable shared mapping of a file
 * not open for writing. The file checks (fd, mode, offset) are fs/mmap.c's. */
int32_t vm_mmap_file(struct mm *mm, uint32_t addr, uint32_t len, uint32_t prot, uint32_t flags,
                     const struct vm_file *file);

/* ---- filemap.c: the VM side of file mappings ------------------------------- */

/* Fill the page of a file VMA whose protection allows access: the file's
 * frame (shared, or private and read-only), a private copy on the first
 * private write. FAULT_NONE or the failure (fault.c records it). */
enum vm_fault_kind vm_file_fault(struct mm *mm, struct vma *v, uint32_t page, enum vm_access access);
/* Gather the PTE dirty bits of the shared file mappings in [addr, addr +
 * len) into the frames (vm_ops.dirty). MS_* flags; 0, -EINVAL, -ENOMEM
 * when part of the range is unmapped, or -EBUSY for MS_INVALIDATE over
 * locked memory. */
int vm_msync(struct mm *mm, uint32_t addr, uint32_t len, uint32_t flags);
/* Unmap the pages of every VMA mapping file, in every address space, from
 * page from_pgoff on (ftruncate): the next touch there faults again and
 * meets the new size. */
void vm_unmap_file_pages(struct vm_mapping *file, uint32_t from_pgoff);
/* Take (fork, split) or drop (munmap, merge, exit) v's hold on its object
 * or file. get: 0 or -ETXTBSY (vm_ops.open). */
int vma_get_backing(struct vma *v);
void vma_put_backing(struct vma *v);

/* Copy between buf and [addr, addr + len) of mm, which need not be the
 * loaded address space (access.c, Linux's access_process_vm): each page is
 * resolved by vm_fault for the access, as a CPU access would be, then its
 * frame is copied through kmap; written frames are marked dirty. 0, or
 * -EFAULT when a page cannot be had (mm->last_fault says why); the bytes
 * before it are copied. */
int vm_access(struct mm *mm, uint32_t addr, void *buf, uint32_t len, int write);
/* The frame mapped at va in mm (present or not), or NULL for none or the
 * zero page. */
struct page *vm_page_at(struct mm *mm, uint32_t va);

/* Resolve a fault at addr (fault.c): 0, or the kind of failure (also kept
 * in mm->last_fault and counted in mm->faults). */
enum vm_fault_kind vm_fault(struct mm *mm, uint32_t addr, enum vm_access access);

/* The page-fault handler the IDT calls (vector 14). 1 if handled. */
struct regs;
int vm_page_fault(struct regs *r);

/* ---- fork.c: copy-on-write ------------------------------------------------- */

/* A copy of src for fork: the same VMAs, shared objects shared, private
 * frames shared copy-on-write but for the page at hot (the user stack
 * pointer; 0 for none), which the child gets a copy of if src may write
 * it. NULL without memory (src unchanged but for entries marked COW). */
struct mm *mm_clone(struct mm *src, uint32_t hot);
/* A write to the COW entry pte of page in v: copy or re-mark. */
enum vm_fault_kind vm_cow_break(struct mm *mm, const struct vma *v, pte_t *pte, uint32_t page);
/* Drop one holder of a private frame: the frame goes back to buddy with its last. */
void vm_frame_put(phys_addr_t frame);

/* ---- mlock.c ------------------------------------------------------------- */

/* Lock (fault in and count) or unlock the pages of [addr, addr + len),
 * page aligned and mapped without holes. 0 or -ENOMEM. */
int vm_mlock(struct mm *mm, uint32_t addr, uint32_t len, int lock);
/* Pages of [addr, addr + len) (page aligned) that locked VMAs cover: an
 * mlock over them locks nothing more. */
uint32_t vm_locked_pages_in(struct mm *mm, uint32_t addr, uint32_t len);

/* The protection as /proc/PID/maps writes it, e.g. "r-xp", into buf[5]. */
void vma_prot_string(const struct vma *v, char buf[5]);
/* The reason of a report, e.g. "write to a read-only mapping (r--p)". */
void vm_fault_describe(const struct vm_fault_report *f, char *buf, unsigned size);

/* ---- vma.c: the sorted array ------------------------------------------ */

/* The VMA containing addr, or NULL. O(log n). */
struct vma *vma_find(struct mm *mm, uint32_t addr);
/* The index of the first VMA whose end is above addr (nr_vmas if none). */
uint32_t vma_index_after(const struct mm *mm, uint32_t addr);
/* Insert v (which must not overlap any VMA). Returns its index or -ENOMEM. */
int vma_insert(struct mm *mm, const struct vma *v);
/* Remove the n VMAs from index i on, with one move of the entries after
 * them (their backing is the caller's to put). */
void vma_remove(struct mm *mm, uint32_t i, uint32_t n);
/* Split the VMA at index i at addr (inside it, page aligned): i keeps the
 * lower part. 0 or -ENOMEM. */
int vma_split(struct mm *mm, uint32_t i, uint32_t addr);
/* Merge the VMA at index i with its neighbours where compatible; returns
 * the index of the VMA now containing the old one's start. */
uint32_t vma_merge(struct mm *mm, uint32_t i);
/* Drop a VMA's reference to its object (freeing the object with its last). */
void vm_object_put(struct vm_object *obj);
/* Is the frame at phys one a file's page cache owns (so an unmap puts it
 * back instead of freeing it)? */
int vm_frame_is_file(phys_addr_t phys);
/* A PTE of file VMA v mapping the file frame at phys is gone: gather its
 * dirty bit (shared mappings) and put back the mapping's reference. */
void vm_file_unmap_frame(const struct vma *v, phys_addr_t phys, int pte_dirty);

/* ---- pgtable.c: user page tables ------------------------------------------ */

/* Frames of the kernel image kept zeroed for page tables (pgtable.c):
 * four for fork of a small program, room for exec's and a few more. */
#define TABLE_POOL_PAGES 16u

/* Fill the table pool with its frames (vm_init, once buddy_init made their
 * struct pages). */
void table_pool_init(void);
/* Zeroed frames in the pool now. */
uint32_t table_pool_pages(void);
/* A zeroed page for a page table or directory: from the pool, else from
 * buddy, cleared. NULL without memory. */
struct page *pgtable_alloc_page(void);
/* Give back a table or directory page whose entries are all 0 again: into
 * the pool if it is one of the pool's, else to buddy. A pool frame with an
 * entry still set is reported, counted and kept out of the pool. */
void pgtable_free_page(struct page *p);
/* Pool frames refused so since boot. */
uint32_t table_pool_refusals(void);
/* The frames in the pool that are not all zeros (0 unless something wrote
 * to a table after it came back). */
uint32_t table_pool_check(void);

/* The entry for va (user space), allocating its page table if alloc. NULL
 * if there is none (or no memory for it). */
pte_t *pgtable_entry(struct mm *mm, uint32_t va, int alloc);
/* Free the page table covering va if all its entries are 0, and its
 * directory with its last table. */
void pgtable_trim(struct mm *mm, uint32_t va);
/* The entry bits for a VMA's protection (present, user, write, NX). */
pte_t pgtable_prot_bits(uint16_t prot);
/* Remove the mappings of [start, end): private frames go back to buddy,
 * shared ones stay with their object; empty page tables are freed. */
void pgtable_unmap(struct mm *mm, const struct vma *v, uint32_t start, uint32_t end);
/* Rewrite the entries of [start, end) for prot. */
void pgtable_protect(struct mm *mm, const struct vma *v, uint32_t start, uint32_t end);
/* Flush [start, end) of mm from the TLB if mm is loaded. */
void pgtable_flush(struct mm *mm, uint32_t start, uint32_t end);

#endif
