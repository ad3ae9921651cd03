/* errno.h — the error codes of the KOS memory API, one list for the kernel.
 *
 * The specification gives them negative (ENOMEM = -12); the kernel follows
 * Linux: the names are positive and a function fails with "return -ENOMEM".
 * Either way the value a caller sees is the specification's.
 *
 *   EPERM   1  operation not permitted: killing pid 0 or 1, raising a hard limit
 *   ENOENT  2  no such file or directory
 *   ESRCH   3  no such process
 *   EINTR   4  interrupted: a sleep cut short because the process was killed
 *   EIO     5  input/output error: a malformed archive or executable
 *   ENXIO   6  no such device or address: no page frame at that address
 *   ENOEXEC 8  exec format error: not an executable KOS can run
 *   E2BIG   7  argument list too long (execve)
 *   EBADF   9  bad file descriptor: a mapping that is not anonymous names no file
 *   ECHILD 10  no child process to wait for
 *   EAGAIN 11  try again: no kernel stack for one more process; a lock limit
 *   ENOMEM 12  out of memory
 *   EACCES 13  permission denied: the frame is reserved (kernel, heap, stacks)
 *   EFAULT 14  bad address
 *   EBUSY  16  still in use: a referenced or locked frame, a cache with live objects
 *   EEXIST 17  a file or directory of that name exists
 *   ENODEV 19  no such device: mmap of a file kind that cannot be mapped
 *   ENOTDIR 20 not a directory
 *   EISDIR 21  is a directory
 *   EINVAL 22  invalid argument: a wrong order, id or alignment, an address
 *              not allocated there, a double free
 *   EMFILE 24  every file descriptor of the table is open
 *   ETXTBSY 26 a running program's file opened for writing, or a program
 *              whose file is open for writing run
 *   EFBIG  27  a file would grow past what the kernel keeps
 *   ENOSPC 28  no memory left for a file's data or a directory entry
 *   ESPIPE 29  lseek on a file without positions (the console)
 *   ERANGE 34  a result (getcwd) larger than its buffer
 *   ENAMETOOLONG 36  a path longer than the kernel keeps
 *   ENOSYS 38  no such system call
 *   ENOTEMPTY 39  rmdir of a directory with entries
 *   EOVERFLOW 75  a file offset past what 32 bits hold (mmap2's offset in pages)
 */
#ifndef KOS_ERRNO_H
#define KOS_ERRNO_H

#define EPERM   1
#define ENOENT  2
#define ESRCH   3
#define EINTR   4
#define EIO     5
#define ENXIO   6
#define ENOEXEC 8
#define E2BIG   7
#define EBADF   9
#define ECHILD 10
#define EAGAIN 11
#define ENOMEM 12
#define EACCES 13
#define EFAULT 14
#define EBUSY  16
#define EEXIST 17
#define ENODEV 19
#define ENOTDIR 20
#define EISDIR 21
#define EINVAL 22
#define EMFILE 24
#define ETXTBSY 26
#define EFBIG 27
#define ENOSPC 28
#define ESPIPE 29
#define ERANGE 34
#define ENAMETOOLONG 36
#define ENOSYS 38
#define ENOTEMPTY 39
#define EOVERFLOW 75

/* "EINVAL" for -EINVAL or EINVAL; "E?" for anything else. */
const char *errno_name(int err);
/* Why, as Linux's strerror says it in lower case ("no such file or
 * directory"), for a report's "cmd: error ENAME (-N): why"; "unknown error"
 * for anything else. */
const char *errno_reason(int err);

#endif
