/* multiboot.c — the strings of the Multiboot information, the kernel
 * command line and the boot loader's name: saved at boot, then the line
 * looked up by option name. */
#include <stdint.h>
#include "multiboot.h"

static char cmdline[MULTIBOOT_CMDLINE_MAX];
static char loader_name[MULTIBOOT_LOADER_NAME_MAX];

/* src into dst (size bytes with its NUL), cut to fit. */
static void save_string(char *dst, unsigned size, const char *src)
{
    unsigned i = 0;
    while (src[i] && i + 1 < size) {
        dst[i] = src[i];
        i++;
    }
    dst[i] = '\0';
}

void multiboot_save_strings(uint32_t magic, const struct multiboot_info *mbi)
{
    if (magic != MULTIBOOT_BOOTLOADER_MAGIC)
        return;
    if ((mbi->flags & MULTIBOOT_INFO_CMDLINE) && mbi->cmdline)
        save_string(cmdline, sizeof(cmdline), (const char *)mbi->cmdline);
    if ((mbi->flags & MULTIBOOT_INFO_LOADER) && mbi->boot_loader_name)
        save_string(loader_name, sizeof(loader_name), (const char *)mbi->boot_loader_name);
}

const char *multiboot_cmdline(void)
{
    return cmdline;
}

const char *multiboot_loader_name(void)
{
    return loader_name;
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
