/* multiboot.c — the kernel command line from the Multiboot information:
 * saved at boot, then looked up by option name. */
#include <stdint.h>
#include "multiboot.h"

static char cmdline[MULTIBOOT_CMDLINE_MAX];

void multiboot_save_cmdline(uint32_t magic, const struct multiboot_info *mbi)
{
    if (magic != MULTIBOOT_BOOTLOADER_MAGIC || !(mbi->flags & MULTIBOOT_INFO_CMDLINE) ||
        !mbi->cmdline)
        return;
    const char *src = (const char *)mbi->cmdline;
    unsigned i = 0;
    while (src[i] && i + 1 < sizeof(cmdline)) {
        cmdline[i] = src[i];
        i++;
    }
    cmdline[i] = '\0';
}

const char *multiboot_cmdline(void)
{
    return cmdline;
}

/* Does the word at w start with key followed by '='? */
static int has_key(const char *w, const char *key)
{
    while (*key)
        if (*w++ != *key++)
            return 0;
    return *w == '=';
}

int multiboot_cmdline_option(const char *key, char *buf, unsigned size)
{
    const char *p = cmdline;
    for (;;) {
        while (*p == ' ')
            p++;
        if (!*p)
            return -1;
        if (has_key(p, key))
            break;
        while (*p && *p != ' ')
            p++;
    }
    while (*p != '=')
        p++;
    p++;
    unsigned len = 0;
    while (p[len] && p[len] != ' ') {
        if (len + 1 < size)
            buf[len] = p[len];
        len++;
    }
    if (size)
        buf[len < size ? len : size - 1] = '\0';
    return (int)len;
}
