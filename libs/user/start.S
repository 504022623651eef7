/* Program entry: the kernel starts the first thread here with rdi = arg. */
.section .text.start, "ax"
.global _start
_start:
    xor %ebp, %ebp
    and $-16, %rsp
    call runtime_start
1:  ud2
    jmp 1b
