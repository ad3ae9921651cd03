/* shell.c — the line editor and command dispatch of the serial shell.
 *
 * Input bytes arrive from the UART's receive ring. Printable ASCII is
 * echoed and appended while the line has room; once it is full, the rest of
 * the line is swallowed and the line refused when it ends. Backspace/DEL
 * erase a character, Ctrl-U the whole line, Ctrl-C drops it, Tab completes
 * the word being typed (complete.c). ANSI escape
 * sequences (arrow keys) and every other control or 8-bit byte are ignored;
 * a control byte inside an escape sequence ends it and acts as usual.
 * CR, LF and CR LF each end one line.
 *
 * A line is split into words at blanks; a trailing '&' asks for the
 * background (only commands whose usage ends in "[&]" take it), and the
 * words must fit the command's usage (usage.c) before the command runs.
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
#define TAB    0x09
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
    if (c && c->usage[0])
        kprintf("usage: %s %s\n", name, c->usage);
    else
        kprintf("usage: %s (no arguments)\n", name);
    return 1;
}

/* A trailing '&' (a word of its own or the end of the last word) asks
 * for the background, as in sh: it is taken off the line, and 1 returned.
 * A lone '&' anywhere else, or "&&", is refused (-1), never passed on as
 * an argument; an '&' inside a word ("a&b") is text. */
static int take_background(int *argc, char **argv)
{
    char *last = argv[*argc - 1];
    uint32_t n = strlen(last);
    int background = last[n - 1] == '&';
    int misplaced = n >= 2 && last[n - 2] == '&';
    if (background) {
        last[n - 1] = '\0';
        if (n == 1)
            (*argc)--;
    }
    for (int i = 0; i < *argc; i++)
        misplaced |= strcmp(argv[i], "&") == 0;
    if (misplaced) {
        kprintf("shell: '&' runs a line in the background: it can only end the line, once\n");
        return -1;
    }
    if (background && *argc == 0) {
        kprintf("shell: '&' needs a command before it\n");
        return -1;
    }
    return background;
}

/* Whether a command runs in the background: only one whose usage ends in
 * "[&]", which then finds "&" as its last argument. */
static int backgrounds(const struct shell_cmd *c)
{
    uint32_t u = strlen(c->usage);
    return u >= 3 && strcmp(c->usage + u - 3, "[&]") == 0;
}

void shell_exec(char *s)
{
    /* Room for one more word: a glued '&' becomes a word of its own. */
    char *argv[SHELL_MAX_ARGS + 2];
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
    if (argc == 0)
        return;
    int background = take_background(&argc, argv);
    if (background < 0)
        return;
    const struct shell_cmd *c = find_cmd(argv[0]);
    if (!c) {
        kprintf("%s: unknown command; type 'help' for the list\n", argv[0]);
        return;
    }
    if (background) {
        if (!backgrounds(c)) {
            kprintf("%s: cannot run in the background (only run can)\n", argv[0]);
            return;
        }
        argv[argc++] = "&";
    }
    argv[argc] = 0;
    if (shell_usage_check(c, argc, argv) < 0)
        return;
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
    case TAB:
        if (!overlong)
            shell_complete(line, &len);
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
