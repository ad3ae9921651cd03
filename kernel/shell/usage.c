/* usage.c — a command's usage line is also its grammar: the shell runs a
 * command only when its arguments fit a form its usage lists, so no
 * command silently ignores an argument, and the line that refuses them is
 * the one the command documents (and help prints).
 *
 * Forms are separated by " | "; each is a list of words. A word in
 * capitals names an argument (PID), a lower-case word is a literal, or
 * literals joined by '|' (on|off); "[...]" is optional and nests, with
 * " | " inside it too; "..." after a word lets it repeat. Only how many
 * arguments a form takes is checked, and which form a leading literal
 * selects: "buddy alloc ORDER [kernel|dma|highmem [only]] | free ADDR
 * ORDER | stats" takes 2 to 4 arguments after alloc, 3 after free, 1 after
 * stats. What an argument holds is for the command to judge.
 */
#include <stdint.h>
#include "shell.h"
#include "../lib/kprintf.h"
#include "../lib/string.h"

#define MANY 0xFFFFu           /* "...": no upper bound */

struct count {
    unsigned min, max;
};

static unsigned add(unsigned a, unsigned b)
{
    return a == MANY || b == MANY ? MANY : a + b;
}

static struct count alternatives(const char **s);

/* The words from *s to the end, a ']' closing this level or a " | "
 * between forms (where *s is left). */
static struct count sequence(const char **s)
{
    struct count c = { 0, 0 };
    for (;;) {
        while (**s == ' ')
            (*s)++;
        if (**s == 0 || **s == ']' || **s == '|')
            return c;
        if (**s == '[') {
            (*s)++;
            struct count opt = alternatives(s);
            if (**s == ']')
                (*s)++;
            c.max = add(c.max, opt.max);
            continue;
        }
        const char *word = *s;
        while (**s && **s != ' ' && **s != '[' && **s != ']')
            (*s)++;
        int repeats = *s - word > 3 && memcmp(*s - 3, "...", 3) == 0;
        c.min++;
        c.max = add(c.max, repeats ? MANY : 1);
    }
}

/* Forms joined by " | " inside brackets: as few as the shortest takes, as
 * many as the longest. */
static struct count alternatives(const char **s)
{
    struct count c = sequence(s);
    while (**s == '|') {
        (*s)++;
        struct count o = sequence(s);
        c.min = o.min < c.min ? o.min : c.min;
        c.max = o.max > c.max ? o.max : c.max;
    }
    return c;
}

/* Whether arg is one of the literals of the word at w ("info|get|put"). */
static int literal_matches(const char *w, const char *arg)
{
    unsigned n = strlen(arg);
    for (;;) {
        const char *end = w;
        while (*end && *end != '|' && *end != ' ' && *end != '[')
            end++;
        if ((unsigned)(end - w) == n && memcmp(w, arg, n) == 0)
            return 1;
        if (*end != '|')
            return 0;
        w = end + 1;
    }
}

int shell_usage_check(const struct shell_cmd *cmd, int argc, char **argv)
{
    unsigned nargs = (unsigned)argc - 1;
    int applies = 0, too_many = 1;
    const char *s = cmd->usage;
    for (;;) {
        while (*s == ' ')
            s++;
        /* A form that starts with a literal is the one its literal names. */
        int selects = *s >= 'a' && *s <= 'z';
        int ours = !selects || (argc > 1 && literal_matches(s, argv[1]));
        struct count c = sequence(&s);
        if (ours) {
            if (nargs >= c.min && nargs <= c.max)
                return 0;
            applies = 1;
            too_many &= nargs > c.max;
        }
        if (*s != '|')
            break;
        s++;
    }
    /* No form's literal names argv[1]: the command says what it expected. */
    if (!applies)
        return 0;
    if (too_many)
        kprintf("%s: too many arguments\n", argv[0]);
    shell_usage(argv[0]);
    return -1;
}
