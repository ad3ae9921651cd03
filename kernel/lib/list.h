/* list.h — circular doubly linked lists with a sentinel head (Linux's
 * list_head): insert and remove in O(1) without branches. */
#ifndef KOS_LIST_H
#define KOS_LIST_H

#include <stddef.h>
#include <stdint.h>

struct list_head {
    struct list_head *next, *prev;
};

#define list_entry(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

static inline void list_init(struct list_head *h)
{
    h->next = h;
    h->prev = h;
}

static inline int list_empty(const struct list_head *h)
{
    return h->next == h;
}

/* Insert n right after h (at the front). */
static inline void list_add(struct list_head *n, struct list_head *h)
{
    n->next = h->next;
    n->prev = h;
    h->next->prev = n;
    h->next = n;
}

/* Insert n right before h (at the back). */
static inline void list_add_tail(struct list_head *n, struct list_head *h)
{
    n->next = h;
    n->prev = h->prev;
    h->prev->next = n;
    h->prev = n;
}

static inline void list_del(struct list_head *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
}

/* Entries of list h, counting at most limit + 1: a result above limit
 * means the list is longer than anything it should hold, or a cycle that
 * never comes back to h (the checkers pass the number of frames). */
static inline uint32_t list_count(const struct list_head *h, uint32_t limit)
{
    uint32_t n = 0;
    for (const struct list_head *e = h->next; e != h && n <= limit; e = e->next)
        n++;
    return n;
}

#endif
