/* errno.c — names for the error codes of include/errno.h, for reports. */
#include "../include/errno.h"

const char *errno_name(int err)
{
    switch (err < 0 ? -err : err) {
    case ENXIO: return "ENXIO";
    case EBADF: return "EBADF";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EINVAL: return "EINVAL";
    default: return "E?";
    }
}
