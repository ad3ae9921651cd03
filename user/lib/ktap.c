/* ktap.c — the KTAP v1 runner of ktap.h. */
#include <stdarg.h>
#include "ktap.h"
#include "stdio.h"
#include "syscall.h"

extern const struct ktap_case __ktap_start[], __ktap_end[];

static int case_failed;

void ktap_check(int ok, const char *expr, int line, const char *fmt, ...)
{
    if (ok)
        return;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    printf("# line %d: expected %s: %s\n", line, expr, msg);
    case_failed = 1;
}

int ktap_run(void)
{
    int failures = 0;
    printf("KTAP version 1\n1..%d\n", (int)(__ktap_end - __ktap_start));
    for (const struct ktap_case *c = __ktap_start; c < __ktap_end; c++) {
        case_failed = 0;
        c->fn();
        failures += case_failed;
        printf("%s %d %s\n", case_failed ? "not ok" : "ok", (int)(c - __ktap_start) + 1, c->name);
    }
    return failures != 0;
}

int ktap_child_status(void (*fn)(void *), void *arg)
{
    long pid = fork();
    if (pid < 0)
        return (int)pid;
    if (pid == 0) {
        fn(arg);
        exit(0);
    }
    int status = 0;
    long got = waitpid(pid, &status, 0);
    return got == pid ? status : (int)got;
}
