/* System calls: number in rax, arguments in rdi/rsi/rdx, result in rax.
 * The kernel clobbers rcx, r11 and the scratch argument registers. sys_ipc
 * is inline in user.h: it may also clobber rbx and r12-r15 (the fastpath
 * returns to a receiver without unwinding its kernel stack). */
.text
.macro DEFINE_SYSCALL name, num
.global \name
\name:
    mov $\num, %eax
    syscall
    ret
.endm

DEFINE_SYSCALL sys_open, 1
DEFINE_SYSCALL sys_close, 2
DEFINE_SYSCALL sys_link, 3
DEFINE_SYSCALL sys_transfer, 4
DEFINE_SYSCALL sys_notify, 6
