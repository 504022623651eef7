/*
 * The kernel/user ABI: system call numbers, IPC flags, notification bits,
 * the per-thread "thread info" page and the user address-space layout.
 * DESIGN.md ("System calls") is the prose version of this file.
 */
#pragma once

#include "message.h"
#include "types.h"

/* System call numbers (rax). Arguments in rdi, rsi, rdx; result in rax. */
#define SYS_OPEN     1
#define SYS_CLOSE    2
#define SYS_LINK     3
#define SYS_TRANSFER 4
#define SYS_IPC      5
#define SYS_NOTIFY   6
#define SYS_MAX      6

/* ipc() flags. */
#define IPC_SEND       (1u << 0)
#define IPC_RECV       (1u << 1)
#define IPC_CALL       (IPC_SEND | IPC_RECV)
#define IPC_NOBLOCK    (1u << 2)
#define IPC_NOFASTPATH (1u << 3)
#define IPC_FLAGS_ALL  (IPC_CALL | IPC_NOBLOCK | IPC_NOFASTPATH)

/* Notification bits the kernel itself raises. The rest belong to servers. */
#define NOTIFY_PEER_CLOSED (1u << 31) /* the channel's peer was closed / died */
#define NOTIFY_IRQ         (1u << 30) /* an interrupt line fired */
#define NOTIFY_TIMER       (1u << 29) /* a timer expired */
#define NOTIFY_NS_CONNECT  (1u << 28) /* memmgr: a new client waits (ns.accept) */
#define NOTIFY_POOL_LOW    (1u << 27) /* to memmgr: the kernel page pool runs low */
#define NOTIFY_USER_MASK   0x07ffffffu

/*
 * The thread info page. The kernel maps one read-write page per thread
 * and reads/writes messages only here; user code finds it through %fs.
 */
struct thread_info {
    struct message ipc;       /* the IPC buffer: sent from, received into */
    uint64_t self;            /* the user address of this page */
    uint64_t page_window;     /* where a received page payload is mapped (0: refuse) */
    uint64_t page_window_len; /* size of that window in bytes */
    int32_t pid;
    int32_t tid;
    uint64_t arg;             /* the argument of a spawned thread */
};

STATIC_ASSERT(offsetof_(struct thread_info, ipc) == 0);
STATIC_ASSERT(offsetof_(struct thread_info, self) == 256);
STATIC_ASSERT(sizeof(struct thread_info) <= PAGE_SIZE);

/* User address-space layout (lower half of the 48-bit space). */
#define USER_THREAD_INFO_BASE 0x0000000000100000ULL /* + slot * PAGE_SIZE */
#define USER_THREAD_SLOTS     256
#define USER_IMAGE_BASE       0x0000000000400000ULL /* ELF images are linked here */
#define USER_HEAP_BASE        0x0000001000000000ULL /* zero-filled on demand */
#define USER_HEAP_END         0x0000002000000000ULL
#define USER_WINDOW_BASE      0x0000004000000000ULL /* page-payload receive windows */
#define USER_MMIO_BASE        0x0000003000000000ULL /* device mappings */
#define USER_INITFS_BASE      0x0000500000000000ULL /* memmgr: the initfs, read-only */
#define USER_PHYS_WINDOW      0x0000600000000000ULL /* memmgr: free page p is at + p */
#define USER_STACK_TOP        0x0000700000000000ULL /* main thread; others below */
#define USER_STACK_SIZE       (256 * 1024ULL)
#define USER_END              0x00007ffffffff000ULL

/* initfs: a flat archive the build links into the kernel (tools/mkinitfs.py). */
#define INITFS_MAGIC    0x53464946u /* "FIFS" */
#define INITFS_NAME_MAX 32

struct initfs_header {
    uint32_t magic;
    uint32_t num_files;
    uint64_t total_size;
};

struct initfs_file {
    char name[INITFS_NAME_MAX];
    uint64_t offset; /* from the start of the archive, 16-byte aligned */
    uint64_t size;
};

/* kernel-server rights (kernel.open_narrowed flags). */
#define KRIGHT_ADMIN   (1u << 0) /* process/thread/memory control of others */
#define KRIGHT_IO      (1u << 1) /* I/O ports in the channel's ranges */
#define KRIGHT_IRQ     (1u << 2) /* IRQ lines in the channel's mask */
#define KRIGHT_MMIO    (1u << 3) /* device memory in the channel's ranges */
#define KRIGHT_DMA     (1u << 4) /* dma_pin */
#define KRIGHT_CONSOLE (1u << 5) /* kernel.print */
#define KRIGHT_ALL     0x3fu

/* pager.exited causes. */
#define EXIT_NORMAL 0 /* kernel.exit */
#define EXIT_FAULT  1 /* CPU exception in user mode (code = vector) */
#define EXIT_KILLED 2 /* destroyed by memmgr or the shell */
#define EXIT_PAGER  3 /* the pager refused a page fault */
#define EXIT_INJECTED 4 /* kernel.inject_fault (memmgr.crash, shell `crash`) */
#define EXIT_NONE   0xffffffffu /* memmgr.process_info: it never ended */

/* memmgr.process_info states of a process under the supervisor. */
#define PSTATE_RUNNING 0 /* alive */
#define PSTATE_WAITING 1 /* ended; restarts when its backoff runs out */
#define PSTATE_FAILED  2 /* ended too often in a row: not restarted */
#define PSTATE_STOPPED 3 /* ended and its policy says stay down, or stopped */

/* pager.fill fault bits (the x86 page-fault error code). */
#define FAULT_PRESENT (1u << 0)
#define FAULT_WRITE   (1u << 1)
#define FAULT_USER    (1u << 2)
#define FAULT_EXEC    (1u << 4)

/* kernel.map / pager.fill prot bits. */
#define PROT_WRITE (1u << 0)
#define PROT_EXEC  (1u << 1)

/* Channels every user process starts with. */
#define CID_MEMMGR 1 /* linked to memmgr (ns, memmgr interfaces) */
#define CID_KERNEL 2 /* the kernel server, narrowed by the boot manifest */
#define CID_KERNEL_EVENTS 3 /* memmgr only: NOTIFY_POOL_LOW from the kernel */

/* What the kernel tells memmgr at boot, mapped read-only at USER_BOOTINFO. */
#define USER_BOOTINFO      0x0000000000300000ULL
#define BOOTINFO_MAX_RANGES 64
#define BOOTINFO_CMDLINE_MAX 512

struct boot_info {
    uint64_t initfs_size;           /* mapped at USER_INITFS_BASE */
    uint64_t num_ranges;
    struct {
        uint64_t base;              /* physical; mapped at USER_PHYS_WINDOW + base */
        uint64_t len;
    } ranges[BOOTINFO_MAX_RANGES];  /* free memory given to memmgr */
    uint64_t total_pages;           /* all usable RAM pages */
    char cmdline[BOOTINFO_CMDLINE_MAX];
};
STATIC_ASSERT(sizeof(struct boot_info) <= PAGE_SIZE);
