/* count.c — counting guest instructions in C.
 *
 * A UC_HOOK_CODE callback runs before every instruction; through the
 * Python binding each call costs microseconds, more than the instruction,
 * so a counted benchmark ran tens of times slower than an uncounted one.
 * Here it adds one to the 64-bit counter its user data points to.
 */
#include <stdint.h>

void count_code_hook(void *uc, uint64_t address, uint32_t size, void *data)
{
    (void)uc;
    (void)address;
    (void)size;
    (*(uint64_t *)data)++;
}
