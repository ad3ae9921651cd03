/* limits.h — the longest names the file system takes, one place for every
 * door into it: open() and the other path calls (path.c), exec, the shell,
 * and the initrd's archive, whose entries with a longer path are skipped
 * with ENAMETOOLONG as open() would refuse them (initrd.c). */
#ifndef KOS_FS_LIMITS_H
#define KOS_FS_LIMITS_H

#define FS_NAME_MAX 255          /* bytes of one path component (Linux's NAME_MAX) */
#define FS_PATH_MAX 1024         /* bytes of a path, NUL included: at most 1023 bytes long */

#endif
