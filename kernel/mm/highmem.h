/* highmem.h — reaching a frame's bytes from the kernel: kmap and kunmap.
 *
 * Frames below DIRECT_MAP_END (896 MiB) are permanently mapped at their own
 * address; frames above it (ZONE_HIGHMEM, including RAM above 4 GiB) have
 * no mapping and must be mapped into a kmap window for as long as the
 * kernel touches them. Code that touches the bytes of a frame it did not
 * allocate with GFP_KERNEL (user pages, page-cache pages, COW copies) goes
 * through these two calls and nothing else:
 *
 *     void *va = kmap(page);      never fails for a valid frame
 *     ... read or write va[0 .. PAGE_SIZE) ...
 *     kunmap(va);
 *
 * Windows are few (KMAP_PAGES, 2048, at 0x3F800000-0x3FFFFFFF): map,
 * copy, unmap; never hold one across a sleep. Running out of them is a
 * kernel bug (a kmap without its kunmap) and stops the kernel.
 */
#ifndef KOS_HIGHMEM_H
#define KOS_HIGHMEM_H

#include "page.h"

/* The kernel address of p's bytes: its identity address for low memory,
 * else a kmap window. */
void *kmap(struct page *p);
/* Release the window kmap returned (nothing for low memory). */
void kunmap(void *va);

/* Windows mapped now (for tests and leak checks). */
uint32_t kmap_windows_in_use(void);

/* Copy one frame's bytes to another; zero one frame. */
void copy_page_frame(struct page *dst, struct page *src);
void clear_page_frame(struct page *p);

#endif
