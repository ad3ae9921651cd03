/* shell.c — the line editor and command dispatch of the serial shell.
 *
 * Input bytes arrive from the UART's receive ring. Printable ASCII is
 * echoed and appended while the line has room; once it is full, the rest of
 * the line is swallowed and the line refused when it ends. Backspace/DEL
 * erase a character, Ctrl-U the whole line, Ctrl-C drops it. ANSI escape
 * sequences (arrow keys) and every other control or 8-bit byte are ignored;
 * a control byte inside an escape sequence ends it and acts as usual.
 * CR, LF and CR LF each end one line.
 */
#include <stdint.h>
#include "shell.h"
#include "../dev/serial.h"
#include "../lib/kprintf.h"
#include "../lib/string.h"
#include "../proc/fd.h"
#include "../proc/proc.h"

#define CTRL_C 0x03
#define CTRL_U 0x15
#define BS     0x08
#define DEL    0x7F
#define ESC    0x1B

extern const struct shell_cmd __shell_cmds_start[], __shell_cmds_end[];

enum esc_state { ESC_NONE, ESC_SEEN, ESC_CSI };

static char line[SHELL_LINE_MAX];
static uint32_t len;
static int overlong;
static int last_was_cr;
static enum esc_state esc;

const struct shell_cmd *shell_cmds_begin(void) { return __shell_cmds_start; }
const struct shell_cmd *shell_cmds_end(void) { return __shell_cmds_end; }

static const struct shell_cmd *find_cmd(const char *name)
{
    for (const struct shell_cmd *c = __shell_cmds_start; c < __shell_cmds_end; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return 0;
}

int shell_usage(const char *name)
{
    const struct shell_cmd *c = find_cmd(name);
    kprintf("usage: %s %s\n", name, c ? c->usage : "");
    return 1;
}

void shell_exec(char *s)
{
    char *argv[SHELL_MAX_ARGS + 1];
    int argc = 0;
    while (*s) {
        while (*s == ' ' || *s == '\t')
            *s++ = '\0';
        if (!*s)
            break;
        if (argc == SHELL_MAX_ARGS) {
            kprintf("shell: too many arguments (at most %u)\n", SHELL_MAX_ARGS - 1);
            return;
        }
        argv[argc++] = s;
        while (*s && *s != ' ' && *s != '\t')
            s++;
    }
    argv[argc] = 0;
    if (argc == 0)
        return;
    const struct shell_cmd *c = find_cmd(argv[0]);
    if (!c) {
        kprintf("%s: unknown command; type 'help' for the list\n", argv[0]);
        return;
    }
    c->fn(argc, argv);
}

static void prompt(void)
{
    kprintf(SHELL_PROMPT);
}

static void end_of_line(void)
{
    kprintf("\n");
    if (overlong) {
        kprintf("shell: line too long (more than %u characters), ignored\n", SHELL_LINE_MAX - 1);
    } else {
        line[len] = '\0';
        shell_exec(line);
    }
    len = 0;
    overlong = 0;
    shell_job_report();
    prompt();
}

static void erase_chars(uint32_t n)
{
    while (n--)
        kprintf("\b \b");
}

static void feed(uint8_t c)
{
    int was_cr = last_was_cr;
    last_was_cr = (c == '\r');

    if (esc != ESC_NONE && c < 0x20) {
        esc = ESC_NONE;                    /* a control byte ends a sequence and acts */
    } else if (esc == ESC_SEEN) {          /* ESC x: CSI if x is '[', else done */
        esc = (c == '[') ? ESC_CSI : ESC_NONE;
        return;
    } else if (esc == ESC_CSI) {           /* parameters until a final byte */
        if (c >= 0x40 && c <= 0x7E)
            esc = ESC_NONE;
        return;
    }

    switch (c) {
    case '\n':
        if (was_cr)
            return;                        /* the LF of a CR LF pair */
        /* fall through */
    case '\r':
        end_of_line();
        return;
    case BS:
    case DEL:
        if (len && !overlong) {
            len--;
            erase_chars(1);
        }
        return;
    case CTRL_U:
        if (!overlong)
            erase_chars(len);
        len = 0;
        overlong = 0;
        return;
    case CTRL_C:
        kprintf("^C\n");
        len = 0;
        overlong = 0;
        prompt();
        return;
    case ESC:
        esc = ESC_SEEN;
        return;
    }
    if (c < 0x20 || c > 0x7E)
        return;
    if (overlong)
        return;
    if (len == SHELL_LINE_MAX - 1) {
        overlong = 1;
        return;
    }
    line[len++] = (char)c;
    serial_putc((char)c);
}

void shell_run(void)
{
    /* The shell is never switched away while it works, only where it sleeps
     * (for input, or for a foreground program): its commands read other
     * processes' tables and address spaces, which an exit would free under
     * them, and what it prints (the echo, a command's lines, the prompt)
     * must reach the console whole, not cut by a program's output. */
    preempt_disable();
    prompt();
    for (;;) {
        int c = serial_getc();
        if (c >= 0) {
            feed((uint8_t)c);
            continue;
        }
        /* Nothing to read: sleep until input arrives, letting every other
         * process run (or the CPU halt). */
        console_wait_input();
    }
}
