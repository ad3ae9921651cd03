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
 * stats. A literal naming argv[1] leaves only its own forms: "ktest list x"
 * is refused, though the other form, "[SUITE...]", takes any number. What
 * an argument holds is for the command to judge.
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

/* Walk the forms of a usage: those whose leading literal is argv[1]
 * (named), or those that start with no literal (!named). 1 when argv fits
 * one of them; *seen counts the others walked, and *too_many stays set
 * while each of those takes fewer arguments than argv has. */
static int fits(const char *s, int argc, char **argv, int named, int *seen, int *too_many)
{
    unsigned nargs = (unsigned)argc - 1;
    for (;;) {
        while (*s == ' ')
            s++;
        int literal = *s >= 'a' && *s <= 'z';
        int ours = literal ? named && argc > 1 && literal_matches(s, argv[1]) : !named;
        struct count c = sequence(&s);
        if (ours) {
            if (nargs >= c.min && nargs <= c.max)
                return 1;
            (*seen)++;
            *too_many &= nargs > c.max;
        }
        if (*s != '|')
            return 0;
        s++;
    }
}

int shell_usage_check(const struct shell_cmd *cmd, int argc, char **argv)
{
    int seen = 0, too_many = 1;
    /* A literal naming argv[1] picks its forms ("ktest list"); without
     * one, the forms that start with an argument apply. */
    if (fits(cmd->usage, argc, argv, 1, &seen, &too_many))
        return 0;
    if (!seen && fits(cmd->usage, argc, argv, 0, &seen, &too_many))
        return 0;
    /* No form for argv[1] at all: the command says what it expected. */
    if (!seen)
        return 0;
    if (too_many)
        kprintf("%s: too many arguments\n", argv[0]);
    shell_usage(argv[0]);
    return -1;
}
