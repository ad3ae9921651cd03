/* hello — the first program: its pid, its arguments and its environment. */
#include "stdio.h"
#include "syscall.h"

int main(int argc, char **argv, char **envp)
{
    printf("hello from pid %ld\n", getpid());
    for (int i = 0; i < argc; i++)
        printf("argv[%d] = %s\n", i, argv[i]);
    for (char **e = envp; *e; e++)
        printf("env %s\n", *e);
    return 0;
}
