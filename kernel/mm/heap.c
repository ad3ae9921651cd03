/* heap.c — PLACEHOLDER bump allocator (never reuses memory) so the kernel links until the real allocator lands. */
#include "heap.h"
struct heap { uint8_t *base, *top, *end; struct heap_stats st; unsigned dbg; };
struct heap *heap_init(void *base, size_t size) { struct heap *h = base; h->base = (uint8_t*)base + 64; h->top = h->base; h->end = (uint8_t*)base + size; for (unsigned i=0;i<sizeof(h->st);i++) ((char*)&h->st)[i]=0; h->st.region_size=size; h->st.free_bytes=size-64; return h; }
void *heap_alloc(struct heap *h, size_t size, size_t align, uintptr_t site) { (void)align;(void)site; if (!size || size > (size_t)(h->end - h->top) - 8) { h->st.failed_allocs++; return 0;} size=(size+7)&~7u; *(uint32_t*)h->top = size|1; void *p = h->top+8; h->top += size+8; h->st.used_bytes += size+8; h->st.free_bytes -= size+8; h->st.live_blocks++; h->st.allocs++; return p; }
int heap_free(struct heap *h, void *p) { if (!p) return 0; uint8_t *b=p; if (b < h->base+8 || b >= h->top) return HEAP_E_INVALID; uint32_t *hd=(uint32_t*)(b-8); if (!(*hd&1)) return HEAP_E_DOUBLE; *hd&=~1u; h->st.live_blocks--; h->st.frees++; return 0; }
void *heap_realloc(struct heap *h, void *p, size_t size, uintptr_t site, int *err) { if (!p) return heap_alloc(h,size,0,site); if (!size) { int e=heap_free(h,p); if(err)*err=e; return 0;} void *q=heap_alloc(h,size,0,site); if(!q) return 0; size_t old=*(uint32_t*)((uint8_t*)p-8)&~7u; for(size_t i=0;i<old&&i<size;i++) ((char*)q)[i]=((char*)p)[i]; heap_free(h,p); return q; }
size_t heap_usable_size(struct heap *h, const void *p) { (void)h; return *(const uint32_t*)((const uint8_t*)p-8)&~7u; }
int heap_owns(struct heap *h, const void *p) { (void)h;(void)p; return 1; }
void heap_get_stats(struct heap *h, struct heap_stats *st) { *st = h->st; }
void heap_walk(struct heap *h, heap_walk_fn fn, void *ctx) { (void)h;(void)fn;(void)ctx; }
unsigned heap_check(struct heap *h, heap_report_fn report, void *ctx) { (void)h;(void)report;(void)ctx; return 0; }
unsigned heap_defragment(struct heap *h) { (void)h; return 0; }
void heap_set_debug(struct heap *h, unsigned flags) { h->dbg=flags; }
unsigned heap_get_debug(struct heap *h) { return h->dbg; }
const char *heap_strerror(int err) { return err==HEAP_E_DOUBLE?"double free":"invalid pointer"; }
