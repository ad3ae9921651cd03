/* cmd_vm.h — what the other shell commands share with cmd_vm.c. */
#ifndef KOS_CMD_VM_H
#define KOS_CMD_VM_H

#include <stdint.h>

/* Print "CMD: ADDR: fault: REASON" for the shell address space's last
 * unresolved fault. */
void vm_report_fault(const char *cmd, uint32_t addr);

#endif
