/*
 * Multiboot1 entry: the loader leaves us in 32-bit protected mode with
 * paging off, eax = multiboot magic and ebx = the multiboot info pointer.
 * We check for long mode, map the first GiB twice (identity, for the jump,
 * and at KERNEL_BASE), enable PAE + long mode + paging, and jump to
 * boot_long64 in the higher half, which calls kmain(magic, info).
 */
#define KERNEL_BASE 0xffffffff80000000
#define MB_MAGIC    0x1badb002
#define MB_FLAGS    ((1 << 1) | (1 << 16)) /* memory map, a.out kludge */

.section .multiboot, "a"
.align 4
multiboot_header:
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)
    .long multiboot_header   /* header_addr */
    .long __image_start      /* load_addr */
    .long __data_end         /* load_end_addr */
    .long __bss_end          /* bss_end_addr */
    .long boot_entry         /* entry_addr */

.section .boot, "ax"
.code32
.global boot_entry
boot_entry:
    cli
    cld
    mov $boot_stack_top, %esp
    mov %eax, boot_magic
    mov %ebx, boot_info

    /* Long mode available? (cpuid 0x80000001 edx bit 29) */
    mov $0x80000000, %eax
    cpuid
    cmp $0x80000001, %eax
    jb no_long_mode
    mov $0x80000001, %eax
    cpuid
    test $(1 << 29), %edx
    jz no_long_mode

    /* PD: 512 x 2 MiB pages = the first GiB (present, writable, large). */
    mov $boot_pd, %edi
    xor %ecx, %ecx
1:  mov %ecx, %eax
    shl $21, %eax
    or $0x83, %eax
    mov %eax, (%edi, %ecx, 8)
    movl $0, 4(%edi, %ecx, 8)
    inc %ecx
    cmp $512, %ecx
    jne 1b

    /* PDPT_low[0] -> PD (identity); PDPT_high[510] -> PD (KERNEL_BASE). */
    mov $boot_pd, %eax
    or $0x3, %eax
    mov %eax, boot_pdpt_low
    mov %eax, boot_pdpt_high + 510 * 8
    /* PML4[0] -> PDPT_low; PML4[511] -> PDPT_high. */
    mov $boot_pdpt_low, %eax
    or $0x3, %eax
    mov %eax, boot_pml4
    mov $boot_pdpt_high, %eax
    or $0x3, %eax
    mov %eax, boot_pml4 + 511 * 8

    mov $boot_pml4, %eax
    mov %eax, %cr3
    mov %cr4, %eax
    or $((1 << 5) | (1 << 9) | (1 << 10)), %eax /* PAE, OSFXSR, OSXMMEXCPT */
    mov %eax, %cr4
    mov $0xc0000080, %ecx                      /* EFER: LME, NXE, SCE */
    rdmsr
    or $((1 << 8) | (1 << 11) | (1 << 0)), %eax
    wrmsr
    mov %cr0, %eax
    or $((1 << 31) | (1 << 16) | (1 << 1)), %eax /* PG, WP, MP */
    and $~(1 << 2), %eax                         /* EM off: SSE usable */
    mov %eax, %cr0

    lgdt boot_gdtr
    ljmp $0x08, $boot_long

no_long_mode:
    mov $no_lm_msg, %esi
2:  lodsb
    test %al, %al
    jz 3f
    mov $0x3f8, %dx
    out %al, %dx
    jmp 2b
3:  hlt
    jmp 3b

.code64
boot_long:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %ax, %ax
    mov %ax, %fs
    mov %ax, %gs
    movabs $boot_long64, %rax
    jmp *%rax

.section .boot.data, "aw"
.align 16
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff /* 0x08: 64-bit kernel code */
    .quad 0x00cf92000000ffff /* 0x10: kernel data */
boot_gdtr:
    .word boot_gdtr - boot_gdt - 1
    .long boot_gdt
.global boot_magic, boot_info
boot_magic: .long 0
boot_info:  .long 0
no_lm_msg: .asciz "fumi: this CPU has no long mode (x86_64); halting\r\n"

.align 4096
.global boot_pml4
boot_pml4:      .fill 512, 8, 0
boot_pdpt_low:  .fill 512, 8, 0
boot_pdpt_high: .fill 512, 8, 0
boot_pd:        .fill 512, 8, 0
boot_stack:     .fill 4096, 1, 0
boot_stack_top:

.text
.code64
boot_long64:
    movabs $kernel_boot_stack_top, %rsp
    xor %rbp, %rbp
    mov boot_magic, %edi
    mov boot_info, %esi
    call kmain
4:  cli
    hlt
    jmp 4b

.bss
.align 4096
kernel_boot_stack:
    .fill 16384, 1, 0
kernel_boot_stack_top:
