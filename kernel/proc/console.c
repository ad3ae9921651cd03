/* console.c — the serial console as a file (fds 0, 1 and 2 of every
 * process): write sends the bytes to COM1; read sleeps on the console's
 * wait queue until the receive interrupt brings input, then returns what
 * has arrived (at least one byte, at most n). The shell waits for its
 * input on the same queue.
 *
 * While the shell waits for a foreground program, Ctrl-C (0x03) is a
 * terminal's interrupt key: taken from the input as it arrives, it sends
 * SIGINT to that program and its descendants. Otherwise it is input like
 * any byte (the shell's line editor drops the line on it). */
#include <stdint.h>
#include "proc.h"
#include "../arch/cpu.h"
#include "../dev/serial.h"
#include "../fs/file.h"
#include "../include/errno.h"
#include "../lib/kprintf.h"

#define CHUNK 64u
#define CTRL_C 0x03

static struct wait_queue readers;
static uint32_t foreground;

void console_set_foreground(uint32_t pid)
{
    foreground = pid;
}

static int interrupt_key(uint8_t b)
{
    if (b != CTRL_C || !foreground)
        return 0;
    kprintf("^C\n");
    proc_kill_tree(foreground, SIGINT);
    return 1;
}

static void input_arrived(void)
{
    wake_up(&readers);
}

void console_wait_input(void)
{
    uint32_t f = irq_save();
    while (!serial_rx_pending() && !current->killed)
        sleep_on(&readers);
    irq_restore(f);
}

static int32_t console_read(struct file *f, struct iobuf buf, uint32_t n)
{
    (void)f;
    if (n == 0)
        return 0;
    console_wait_input();
    if (!serial_rx_pending())
        return -EINTR;
    uint8_t chunk[CHUNK];
    uint32_t got = 0;
    while (got < n && serial_rx_pending()) {
        uint32_t k = 0;
        int c;
        while (k < CHUNK && got + k < n && (c = serial_getc()) >= 0)
            chunk[k++] = (uint8_t)c;
        if (io_copy_out(buf, got, chunk, k))
            return got ? (int32_t)got : -EFAULT;
        got += k;
    }
    return (int32_t)got;
}

static int32_t console_write(struct file *f, struct iobuf buf, uint32_t n)
{
    (void)f;
    uint8_t chunk[CHUNK];
    uint32_t done = 0;
    while (done < n) {
        uint32_t k = n - done < CHUNK ? n - done : CHUNK;
        if (io_copy_in(chunk, buf, done, k))
            return done ? (int32_t)done : -EFAULT;
        for (uint32_t i = 0; i < k; i++) {
            if (chunk[i] == '\n')
                serial_putc('\r');        /* a terminal's ONLCR, as kprintf does */
            serial_putc((char)chunk[i]);
        }
        done += k;
    }
    return (int32_t)n;
}

static const struct file_ops console_ops = {
    .read = console_read,
    .write = console_write,
};

/* Static, so that booting allocates nothing from the heap; the reference
 * it starts with is never dropped, so it is never freed. */
static struct file console = { .ops = &console_ops, .refs = 1, .flags = O_RDWR };

struct file *console_file(void)
{
    return &console;
}

void console_init(void)
{
    serial_set_rx_notify(input_arrived);
    serial_set_rx_filter(interrupt_key);
}
