/* uart.c — the port I/O hooks of the embedded emulator, with the 16550's
 * receive FIFO and the three accesses a driver makes for every byte.
 *
 * A console byte costs a driver an LSR poll and an RBR read to receive it,
 * an LSR poll and a THR write to echo it; through a Python hook each is a
 * few microseconds, most of the time a megabyte of input takes. Here those
 * four run in C: the FIFO's bytes live in this struct, transmitted bytes
 * collect in `tx` until the engine takes them after emu_start, and every
 * other port or register goes to the Python callbacks. The Python model
 * (devices/uart.py) keeps everything else and says, by `modes`, when the
 * registers are in the state where these accesses need nothing more than
 * the FIFO: the model of the chip stays one model.
 *
 * Two effects are left for the model to catch up on, before its next
 * access and after emu_start: a read that empties the FIFO may lower the
 * IRQ line (`emptied`), and a THR write sets the THR-empty interrupt's
 * condition (`sent`). Lowering the edge-triggered line later changes
 * nothing the PIC holds until the line rises again, which only the model
 * can make it do.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FIFO_SIZE 16
#define REG_DATA 0
#define REG_LSR 5
#define LSR_THR_EMPTY_IDLE 0x60
#define LSR_DATA_READY 0x01

/* The modes the model sets (uart_set_modes). */
#define FAST_LSR 0x1 /* LSR reads need nothing but the FIFO */
#define FAST_RBR 0x2 /* DLAB is clear: port 0 reads the FIFO */
#define FAST_THR 0x4 /* and writes go out on the line (no loopback, no THRE interrupt) */

/* For Python, which reads these instead of restating them. */
const uint32_t uart_fifo_size = FIFO_SIZE;
const uint32_t uart_fast_lsr = FAST_LSR;
const uint32_t uart_fast_rbr = FAST_RBR;
const uint32_t uart_fast_thr = FAST_THR;
const uint32_t uart_event_emptied = 1;
const uint32_t uart_event_sent = 2;

typedef uint32_t (*slow_in_fn)(uint32_t port, int size);
typedef void (*slow_out_fn)(uint32_t port, int size, uint32_t value);

struct uart {
    uint32_t base;
    uint32_t modes;
    uint8_t fifo[FIFO_SIZE];
    uint32_t head, count;
    int emptied;
    int sent;
    uint8_t *tx;
    size_t tx_len, tx_cap;
    slow_in_fn slow_in;
    slow_out_fn slow_out;
};

struct uart *uart_new(uint32_t base, slow_in_fn slow_in, slow_out_fn slow_out)
{
    struct uart *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->base = base;
    u->slow_in = slow_in;
    u->slow_out = slow_out;
    return u;
}

void uart_free(struct uart *u)
{
    if (u)
        free(u->tx);
    free(u);
}

void uart_set_modes(struct uart *u, uint32_t modes)
{
    u->modes = modes;
}

/* The FIFO, for the model. */
uint32_t uart_fifo_len(const struct uart *u)
{
    return u->count;
}

int uart_fifo_push(struct uart *u, uint8_t b)
{
    if (u->count == FIFO_SIZE)
        return 0;
    u->fifo[(u->head + u->count) % FIFO_SIZE] = b;
    u->count++;
    return 1;
}

/* Append up to n bytes while there is room; how many were taken. */
uint32_t uart_fifo_fill(struct uart *u, const uint8_t *data, uint32_t n)
{
    uint32_t taken = 0;
    while (taken < n && uart_fifo_push(u, data[taken]))
        taken++;
    return taken;
}

int uart_fifo_pop(struct uart *u)
{
    if (u->count == 0)
        return -1;
    int b = u->fifo[u->head];
    u->head = (u->head + 1) % FIFO_SIZE;
    u->count--;
    return b;
}

/* Copy the FIFO's bytes, oldest first, to out (room for FIFO_SIZE). */
uint32_t uart_fifo_peek(const struct uart *u, uint8_t *out)
{
    for (uint32_t i = 0; i < u->count; i++)
        out[i] = u->fifo[(u->head + i) % FIFO_SIZE];
    return u->count;
}

void uart_fifo_clear(struct uart *u)
{
    u->head = u->count = 0;
}

/* What happened since the last call: bit 0 a read emptied the FIFO, bit 1
 * THR was written. Clears both. */
int uart_take_events(struct uart *u)
{
    int events = (u->emptied ? uart_event_emptied : 0) | (u->sent ? uart_event_sent : 0);
    u->emptied = u->sent = 0;
    return events;
}

/* The bytes transmitted since the last take: their count; the bytes are
 * at uart_tx_data until the next write or take. */
size_t uart_tx_len(const struct uart *u)
{
    return u->tx_len;
}

const uint8_t *uart_tx_data(const struct uart *u)
{
    return u->tx;
}

void uart_tx_clear(struct uart *u)
{
    u->tx_len = 0;
}

static int tx_put(struct uart *u, uint8_t b)
{
    if (u->tx_len == u->tx_cap) {
        size_t cap = u->tx_cap ? 2 * u->tx_cap : 4096;
        uint8_t *grown = realloc(u->tx, cap);
        if (!grown)
            return 0;
        u->tx = grown;
        u->tx_cap = cap;
    }
    u->tx[u->tx_len++] = b;
    return 1;
}

/* The UC_HOOK_INSN callback for IN (user data: the uart). */
uint32_t uart_in_hook(void *uc, uint32_t port, int size, void *data)
{
    struct uart *u = data;
    (void)uc;
    if (size == 1 && port == u->base + REG_LSR && u->modes & FAST_LSR)
        return LSR_THR_EMPTY_IDLE | (u->count ? LSR_DATA_READY : 0);
    if (size == 1 && port == u->base + REG_DATA && u->modes & FAST_RBR) {
        int b = uart_fifo_pop(u);
        if (b < 0)
            return 0;
        if (u->count == 0)
            u->emptied = 1;
        return (uint32_t)b;
    }
    return u->slow_in(port, size);
}

/* The UC_HOOK_INSN callback for OUT (user data: the uart). */
void uart_out_hook(void *uc, uint32_t port, int size, uint32_t value, void *data)
{
    struct uart *u = data;
    (void)uc;
    if (size == 1 && port == u->base + REG_DATA && u->modes & FAST_THR && tx_put(u, (uint8_t)value)) {
        u->sent = 1;
        return;
    }
    u->slow_out(port, size, value);
}
