/* The board layer of the bare-metal C example (QEMU mps2-an386, Cortex-M4F). */
#ifndef FTF_BAREMETAL_BOARD_H
#define FTF_BAREMETAL_BOARD_H
#include <stdint.h>

void board_puts(const char *s);
void board_put_u32(uint32_t v);
void board_exit(int code) __attribute__((noreturn));
void board_start_systick(uint32_t reload);
void board_stop_systick(void);

#endif
