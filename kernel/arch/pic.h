/* pic.h — the two cascaded 8259A interrupt controllers. */
#ifndef KOS_PIC_H
#define KOS_PIC_H

#define IRQ_BASE   32       /* the PICs deliver lines 0..15 at vectors 32..47 */

/* Remap IRQ 0..15 to vectors 32..47 and mask every line but the cascade. */
void pic_init(void);
void pic_unmask(unsigned irq);
void pic_eoi(unsigned irq);

/* IRQ 7 and 15 can fire spuriously; true if this one did (no EOI owed). */
int pic_is_spurious(unsigned irq);

#endif
