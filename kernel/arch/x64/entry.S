/*
 * Kernel entry and exit: the syscall/sysret path, the interrupt and
 * exception stubs, the thread switch and the first entry to user mode.
 * Fumi runs on one CPU with interrupts disabled in the kernel, so the
 * syscall path keeps the kernel stack pointer in a plain global.
 */
.text
.code64

/* ---- syscall: rax = number, rdi/rsi/rdx = arguments, rcx/r11 = user rip/rflags */
.global syscall_entry
syscall_entry:
    mov %rsp, syscall_user_rsp(%rip)
    mov syscall_kernel_rsp(%rip), %rsp
    pushq syscall_user_rsp(%rip)
    push %rcx
    push %r11
    push %rbp
    xor %ebp, %ebp            /* ends kernel backtraces */
    cmp $5, %eax              /* SYS_IPC: straight to the fastpath's door */
    jne 1f
    call ipc_syscall
    jmp syscall_exit
1:  mov %rax, %rcx
    call syscall_handler
.global syscall_exit
syscall_exit:
    pop %rbp
    pop %r11
    pop %rcx
    pop %rsp
    /* Scratch registers must not carry kernel values back to user mode. */
    xor %esi, %esi
    xor %edi, %edi
    xor %edx, %edx
    xor %r8d, %r8d
    xor %r9d, %r9d
    xor %r10d, %r10d
    sysretq

/* A thread blocked by the IPC fastpath resumes here when it is switched to
 * normally (arch_switch "returns" here with rsp at its syscall frame): it
 * returns its wake_result from the system call. */
.global fastpath_resume
fastpath_resume:
    mov current(%rip), %rax
    mov (%rax), %eax          /* current->wake_result (THREAD_WAKE_RESULT) */
    jmp syscall_exit

/* ---- interrupts and exceptions */
.macro ISR_NOERR n
.global isr\n
isr\n:
    pushq $0
    pushq $\n
    jmp isr_common
.endm
.macro ISR_ERR n
.global isr\n
isr\n:
    pushq $\n
    jmp isr_common
.endm

ISR_NOERR 0
ISR_NOERR 1
ISR_NOERR 2
ISR_NOERR 3
ISR_NOERR 4
ISR_NOERR 5
ISR_NOERR 6
ISR_NOERR 7
ISR_ERR   8
ISR_NOERR 9
ISR_ERR   10
ISR_ERR   11
ISR_ERR   12
ISR_ERR   13
ISR_ERR   14
ISR_NOERR 15
ISR_NOERR 16
ISR_ERR   17
ISR_NOERR 18
ISR_NOERR 19
ISR_NOERR 20
ISR_ERR   21
ISR_NOERR 22
ISR_NOERR 23
ISR_NOERR 24
ISR_NOERR 25
ISR_NOERR 26
ISR_NOERR 27
ISR_NOERR 28
ISR_ERR   29
ISR_ERR   30
ISR_NOERR 31
.irp n, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
ISR_NOERR \n
.endr

isr_common:
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    cld
    mov %rsp, %rdi
    call trap_handler
.global trap_return
trap_return:
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    pop %rax
    add $16, %rsp
    iretq

.section .rodata
.global isr_table
isr_table:
.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
    .quad isr\n
.endr
.text

/* ---- void arch_switch(uint64_t *prev_rsp, uint64_t next_rsp) */
.global arch_switch
arch_switch:
    push %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, (%rdi)
    mov %rsi, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
    ret

/* A new user thread's first switch returns here: the stack holds its
 * argument and an iretq frame (see arch_thread_init). */
.global user_entry_trampoline
user_entry_trampoline:
    pop %rdi
    xor %eax, %eax
    xor %ebx, %ebx
    xor %ecx, %ecx
    xor %edx, %edx
    xor %esi, %esi
    xor %ebp, %ebp
    xor %r8d, %r8d
    xor %r9d, %r9d
    xor %r10d, %r10d
    xor %r11d, %r11d
    xor %r12d, %r12d
    xor %r13d, %r13d
    xor %r14d, %r14d
    xor %r15d, %r15d
    iretq

.bss
syscall_user_rsp: .quad 0
.global syscall_kernel_rsp
syscall_kernel_rsp: .quad 0
