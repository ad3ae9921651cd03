/* complete.c — Tab in the shell's line editor, as a shell completes: the
 * command name in the first word; a path of the file system (relative to
 * "/", as the file commands take it) in the words after a command whose
 * usage names a PATH (run's program, named without a '/', from
 * SHELL_PATH, where run finds it). One candidate completes the word (a command or a
 * file then takes a blank, a directory its '/'); several extend it to what
 * they all begin with, and when they share no more than the word, are
 * listed under the line, which is typed again after a new prompt. */
#include <stdint.h>
#include "shell.h"
#include "../dev/serial.h"
#include "../fs/vfs.h"
#include "../lib/kprintf.h"
#include "../lib/string.h"

/* The names that begin with the word's prefix: counted, with the longest
 * beginning they all share, or (listing) printed. */
struct candidates {
    const char *prefix;
    uint32_t prefix_len;
    uint32_t count;
    const char *first;          /* the first name offered (stable: a command's, or an entry's) */
    uint32_t common;            /* bytes of first every candidate begins with */
    int first_is_dir;
    int listing;
};

static void offer(struct candidates *c, const char *name, int is_dir)
{
    if (strlen(name) < c->prefix_len || memcmp(name, c->prefix, c->prefix_len) != 0)
        return;
    if (c->listing) {
        kprintf("%s%s%s", c->count++ ? "  " : "", name, is_dir ? "/" : "");
        return;
    }
    if (c->count++ == 0) {
        c->first = name;
        c->common = strlen(name);
        c->first_is_dir = is_dir;
        return;
    }
    uint32_t n = 0;
    while (n < c->common && name[n] == c->first[n])
        n++;
    c->common = n;
}

static void offer_commands(struct candidates *c)
{
    for (const struct shell_cmd *cmd = shell_cmds_begin(); cmd < shell_cmds_end(); cmd++)
        offer(c, cmd->name, 0);
}

/* The entries of the directory dir names; nothing if it names none. */
static void offer_entries(struct candidates *c, const char *dir)
{
    struct inode *ino;
    if (path_lookup("/", dir, &ino) != 0 || !S_ISDIR(ino->mode) || dir_populate(ino) != 0)
        return;
    for (const struct dentry *d = ino->entries; d; d = d->next)
        offer(c, d->name, S_ISDIR(d->inode->mode));
}

/* Does the command named by the first len bytes of line take a path? */
static int takes_path(const char *line, uint32_t len)
{
    for (const struct shell_cmd *cmd = shell_cmds_begin(); cmd < shell_cmds_end(); cmd++) {
        if (strlen(cmd->name) != len || memcmp(cmd->name, line, len) != 0)
            continue;
        for (const char *u = cmd->usage; *u; u++)
            if (u[0] == 'P' && u[1] == 'A' && u[2] == 'T' && u[3] == 'H')
                return 1;
        return 0;
    }
    return 0;
}

void shell_complete(char *line, uint32_t *len)
{
    uint32_t start = *len, first = 0;
    while (start && line[start - 1] != ' ')
        start--;
    while (first < start && line[first] == ' ')
        first++;
    uint32_t name_end = first;
    while (name_end < *len && line[name_end] != ' ')
        name_end++;
    int command = start <= first;
    char dir[SHELL_LINE_MAX] = ".";
    struct candidates c = { .prefix = line + start, .prefix_len = *len - start };
    if (!command) {
        if (!takes_path(line + first, name_end - first))
            return;
        uint32_t slash = *len;
        while (slash > start && line[slash - 1] != '/')
            slash--;
        int first_arg = 1;
        for (uint32_t i = name_end; i < start; i++)
            first_arg &= line[i] == ' ';
        if (slash > start) {
            memcpy(dir, line + start, slash - start);
            dir[slash - start] = 0;
        } else if (first_arg && name_end - first == 3 && memcmp(line + first, "run", 3) == 0) {
            memcpy(dir, SHELL_PATH, sizeof(SHELL_PATH));
        }
        c.prefix = line + slash;
        c.prefix_len = *len - slash;
    }
    if (command)
        offer_commands(&c);
    else
        offer_entries(&c, dir);
    if (c.count == 0)
        return;
    if (c.count == 1 || c.common > c.prefix_len) {
        uint32_t add = c.common - c.prefix_len + (c.count == 1);
        if (*len + add > SHELL_LINE_MAX - 1)
            return;                           /* it would not fit: the line stays as typed */
        for (uint32_t i = c.prefix_len; i < c.common; i++) {
            line[(*len)++] = c.first[i];
            serial_putc(c.first[i]);
        }
        if (c.count == 1) {
            line[(*len)++] = c.first_is_dir ? '/' : ' ';
            serial_putc(line[*len - 1]);
        }
        return;
    }
    c.listing = 1;
    c.count = 0;
    kprintf("\n");
    if (command)
        offer_commands(&c);
    else
        offer_entries(&c, dir);
    line[*len] = 0;
    kprintf("\n" SHELL_PROMPT "%s", line);
}
