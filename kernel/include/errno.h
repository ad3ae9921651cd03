/* errno.h — the error codes of the KOS memory API, one list for the kernel.
 *
 * The specification gives them negative (ENOMEM = -12); the kernel follows
 * Linux: the names are positive and a function fails with "return -ENOMEM".
 * Either way the value a caller sees is the specification's.
 *
 *   ENXIO   6  no such device or address: no page frame at that address
 *   EBADF   9  bad file descriptor: a mapping that is not anonymous names no file
 *   ENOMEM 12  out of memory
 *   EACCES 13  permission denied: the frame is reserved (kernel, heap, stacks)
 *   EFAULT 14  bad address
 *   EBUSY  16  still in use: a referenced or locked frame, a cache with live objects
 *   EINVAL 22  invalid argument: a wrong order, id or alignment, an address
 *              not allocated there, a double free
 */
#ifndef KOS_ERRNO_H
#define KOS_ERRNO_H

#define ENXIO   6
#define EBADF   9
#define ENOMEM 12
#define EACCES 13
#define EFAULT 14
#define EBUSY  16
#define EINVAL 22

/* "EINVAL" for -EINVAL or EINVAL; "E?" for anything else. */
const char *errno_name(int err);

#endif
