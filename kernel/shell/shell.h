/* shell.h — the serial shell and how commands join it.
 *
 * A command is a function taking argc/argv (argv[0] is its name) and
 * returning 0 on success or 1 on failure. SHELL_COMMAND places its
 * descriptor in the .shell_cmds section, which linker.ld keeps sorted by the
 * id: any file can add a command without a central table.
 *
 *     static int cmd_uptime(int argc, char **argv) { ... }
 *     SHELL_COMMAND(uptime, "", "time since boot", cmd_uptime);
 */
#ifndef KOS_SHELL_H
#define KOS_SHELL_H

#include <stdint.h>

#define SHELL_PROMPT   "kos> "
#define SHELL_LINE_MAX 256     /* bytes of a line, the terminating NUL included */
#define SHELL_MAX_ARGS 16
#define SHELL_PATH     "/bin"  /* where run finds a program named without a '/' (its PATH) */

typedef int (*shell_fn)(int argc, char **argv);

struct shell_cmd {
    const char *name;
    const char *usage;   /* arguments, e.g. "SIZE" or "" */
    const char *help;    /* one line */
    shell_fn fn;
};

#define SHELL_COMMAND(id, usage_, help_, fn_)                                   \
    static const struct shell_cmd shell_cmd_##id                                \
        __attribute__((used, section(".shell_cmds." #id), aligned(4))) = {      \
            #id, usage_, help_, fn_ }

/* Read lines from the console and run them, forever. */
__attribute__((noreturn)) void shell_run(void);

/* Tab at the end of the line being typed (its first *len bytes; room for
 * SHELL_LINE_MAX with the NUL): complete the word there, echoing what is
 * added, or list the candidates and type the line again (complete.c). */
void shell_complete(char *line, uint32_t *len);

/* Run one line as if typed (it is modified in place). */
void shell_exec(char *line);

/* Report the background programs that ended since the last prompt
 * (cmd_proc.c), reaping them. */
void shell_job_report(void);

/* The registered commands, for help. */
const struct shell_cmd *shell_cmds_begin(void);
const struct shell_cmd *shell_cmds_end(void);

/* Print "usage: NAME USAGE" for cmd argv[0]; returns 1 for the caller. */
int shell_usage(const char *name);

/* Whether argv fits one of the forms cmd's usage lists (usage.c): 0, or
 * -1 after printing the usage (and "too many arguments" when it is that).
 * shell_exec checks every line with it before running the command. */
int shell_usage_check(const struct shell_cmd *cmd, int argc, char **argv);

/* Parse argv[i], the argument called name in the usage (e.g. "PID"), as a
 * number from 0 to max: decimal or 0x hex, optional K/M/G suffix (args.c).
 * 0 and *out set, or -1 after printing which argument was wrong and why. */
int shell_arg_u32(char **argv, int i, const char *name, uint32_t max, uint32_t *out);
/* The same for 64-bit values such as physical addresses (max below 2^56). */
int shell_arg_u64(char **argv, int i, const char *name, uint64_t max, uint64_t *out);

#endif
