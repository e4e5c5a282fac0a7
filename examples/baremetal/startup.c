/*
 * Minimal Cortex-M4F start-up for QEMU mps2-an386: vector table, reset handler (copy .data,
 * zero .bss, enable the FPU), semihosting console and exit, SysTick.
 * No C library: only libgcc (and libftforest, which carries Rust's compiler builtins).
 */
#include <stdint.h>
#include "board.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _stack_top;
extern int main(void);
void SysTick_Handler(void);

static void default_handler(void) {
    board_puts("unexpected exception\n");
    board_exit(2);
}

void Reset_Handler(void) {
    uint32_t *src = &_sidata, *dst = &_sdata;
    while (dst < &_edata) *dst++ = *src++;
    for (dst = &_sbss; dst < &_ebss; ) *dst++ = 0;
    /* CPACR: full access to CP10/CP11 (the FPU: the code is built for the hard-float ABI). */
    *(volatile uint32_t *)0xE000ED88 |= 0xFu << 20;
    __asm volatile("dsb\n isb");
    board_exit(main());
}

__attribute__((section(".vectors"), used))
static void (*const vectors[16])(void) = {
    (void (*)(void))&_stack_top, Reset_Handler,
    default_handler, default_handler, default_handler, default_handler, default_handler,
    0, 0, 0, 0, default_handler, default_handler, 0, default_handler, SysTick_Handler,
};

/* ARM semihosting: r0 = operation, r1 = argument block. */
static uint32_t semihost(uint32_t op, const void *arg) {
    register uint32_t r0 __asm("r0") = op;
    register const void *r1 __asm("r1") = arg;
    __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void board_puts(const char *s) { semihost(0x04 /* SYS_WRITE0 */, s); }

void board_put_u32(uint32_t v) {
    char buf[11];
    int i = 10;
    buf[i] = 0;
    do { buf[--i] = (char)('0' + v % 10); v /= 10; } while (v);
    board_puts(&buf[i]);
}

void board_exit(int code) {
    /* SYS_EXIT_EXTENDED: { reason = ADP_Stopped_ApplicationExit, exit code }. */
    uint32_t block[2] = { 0x20026, (uint32_t)code };
    semihost(0x20 /* SYS_EXIT_EXTENDED */, block);
    for (;;) __asm volatile("wfi");
}

void board_start_systick(uint32_t reload) {
    volatile uint32_t *syst = (volatile uint32_t *)0xE000E010;
    syst[1] = reload - 1; /* RVR */
    syst[2] = 0;          /* CVR */
    syst[0] = 7;          /* CSR: core clock, interrupt, enable */
}

void board_stop_systick(void) { *(volatile uint32_t *)0xE000E010 = 0; }
