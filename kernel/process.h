/*
 * Kernel objects: processes, threads and channels, all taken from fixed
 * pools (process.c, channel.c). See docs/kernel.md for how they relate.
 */
#pragma once

#include "kernel.h"
#include "vm.h"

struct thread;
struct channel;

/* A message waiting to be received: from a blocked thread or the kernel. */
struct sender {
    struct list_head node;    /* in the receiving root's senders */
    struct channel *arrival;  /* where it arrived (its cid becomes `from`) */
    struct thread *thread;    /* NULL: a kernel message (kmsg) */
    const struct message *kmsg;
};

enum thread_state {
    THREAD_FREE,
    THREAD_RUNNABLE,     /* in the run queue, or running */
    THREAD_SEND,         /* waiting for a receiver */
    THREAD_RECV,         /* waiting for a message */
    THREAD_PAGER,        /* waiting for its pager to fill a page */
    THREAD_DEAD,
};

struct thread {
    error_t wake_result;         /* first: entry.S reads it (THREAD_WAKE_RESULT) */
    tid_t tid;
    int index;                   /* in the pool: picks the kernel stack; -1: none */
    enum thread_state state;
    struct process *proc;
    struct arch_thread arch;
    struct list_head proc_node;  /* in proc->threads */
    struct list_head run_node;   /* run queue */
    struct list_head wait_node;  /* a root's receivers, or proc->fault_queue */
    struct sender send;          /* while THREAD_SEND */
    struct channel *wait_root;   /* while THREAD_RECV */
    unsigned ipc_flags;          /* of the ipc it is blocked in */
    struct channel *call_ch;     /* a call's channel: receive there after send */
    struct thread_info *info;    /* the thread info page, kernel view */
    vaddr_t info_uva;
    paddr_t info_pa;
    int slot;                    /* thread info slot in the process */
    vaddr_t fault_addr;
    uint32_t fault_code;
    uint64_t fault_ip;
    bool awaiting_request;       /* its last ipc was a plain receive */
    uint32_t serving;            /* type of the message that receive took */
};

STATIC_ASSERT(offsetof_(struct thread, wake_result) == THREAD_WAKE_RESULT);

struct io_range {
    uint16_t base, len;
};

#define KRIGHT_MAX_IO   4
#define KRIGHT_MAX_MMIO 4

struct krights {
    uint32_t flags;
    uint32_t irq_mask;
    struct io_range io[KRIGHT_MAX_IO];
    struct {
        uint64_t base, len;
    } mmio[KRIGHT_MAX_MMIO];
};

enum channel_kind {
    CH_FREE,
    CH_USER,     /* an ordinary endpoint in a process's table */
    CH_KSERVER,  /* kernel end of a kernel-server channel (rights) */
    CH_PAGER,    /* kernel end of a process's pager channel */
    CH_IRQ,      /* kernel end of an IRQ channel */
    CH_TIMER,    /* kernel end of a timer channel */
    CH_EVENTS,   /* kernel end of memmgr's kernel-events channel */
};

struct channel {
    enum channel_kind kind;
    struct process *owner;        /* the kernel process for kernel ends */
    cid_t cid;
    struct channel *peer;
    bool was_linked;
    struct channel *transfer_to;  /* the root that receives for us */
    struct list_head group;       /* root: members transferred here */
    struct list_head group_node;
    notification_t pending;
    struct list_head notified;    /* root: members with pending bits */
    struct list_head notified_node;
    struct list_head senders;     /* root: struct sender, FIFO */
    struct list_head receivers;   /* root: threads in THREAD_RECV */
    struct sender ksend;          /* kernel ends: the one queued message */
    union {
        struct krights rights;    /* CH_KSERVER */
        struct process *pager_of; /* CH_PAGER */
        struct {
            unsigned line;
            bool unacked;          /* notified; the line waits for its irq_ack */
            struct list_head node; /* on the line's listeners (kserver.c) */
        } irq;                    /* CH_IRQ */
        struct {
            uint64_t deadline, period;
            struct list_head node;
        } timer;                  /* CH_TIMER */
    };
};

enum process_state { PROC_FREE, PROC_ALIVE, PROC_ZOMBIE };

struct process {
    pid_t_ pid;
    enum process_state state;
    char name[32];
    struct vm_space vm;
    struct channel *cids[MAX_CIDS];
    struct list_head threads;
    int num_threads;
    struct channel *pager;         /* kernel end of the pager channel */
    struct list_head fault_queue;  /* faulting threads; the first is asked */
    bool fill_sent;                /* pager.fill of the first is out */
    struct message pager_msg;      /* pager.fill / pager.exited being sent */
    struct io_range io[KRIGHT_MAX_IO];
    int num_io;
    uint64_t slots[USER_THREAD_SLOTS / 64];
    uint64_t sent, received, faults;
};

extern struct thread *current;
extern struct process kernel_process;

/* process.c */
void process_init(void);
struct process *process_create(const char *name);
struct process *process_find(pid_t_ pid);
struct process *process_next(pid_t_ pid);
void process_exit(struct process *p, uint32_t cause, int32_t code, uint64_t ip, uint64_t addr);
uint32_t process_serving(struct process *p);
void process_destroy(struct process *p, struct process *reclaimer);
uint64_t thread_user_ip(const struct thread *t);
struct thread *thread_create(struct process *p, vaddr_t entry, vaddr_t stack, uint64_t arg,
                             error_t *err);
struct thread *thread_find(tid_t tid);
struct thread *kthread_create(void (*fn)(void));
void thread_destroy(struct thread *t);
unsigned process_count(void);
unsigned thread_count(void);
uint64_t process_pages(struct process *p);
int process_channel_count(struct process *p);

/* sched.c */
void sched_init(void);
void sched_start(void) NORETURN;
void thread_wake(struct thread *t, error_t result);
void sched_block(void);
void sched_yield(void);
NORETURN void sched_fastpath_switch(struct thread *prev, struct thread *next);
void sched_tick(void);
void sched_remove(struct thread *t);
extern bool need_resched;
extern uint64_t ticks;

/* channel.c */
void channel_init(void);
struct channel *channel_alloc(struct process *owner, enum channel_kind kind);
error_t channel_install(struct process *p, struct channel *c);
void channel_free(struct channel *c);
struct channel *channel_get(struct process *p, cid_t cid);
void channel_close(struct channel *c);
void channel_link(struct channel *a, struct channel *b);
error_t channel_transfer(struct channel *src, struct channel *dst);
void channel_untransfer(struct channel *c);
void channel_notify(struct channel *c, notification_t bits);
void channel_kick(struct channel *root);
unsigned channel_count(void);
static inline struct channel *channel_root(struct channel *c) {
    return c->transfer_to ? c->transfer_to : c;
}

/* ipc.c */
error_t ipc_syscall(cid_t cid, unsigned flags);
bool ipc_try_receive(struct thread *t, struct channel *root);
error_t ipc_kernel_send(struct channel *kch, const struct message *m);
void ipc_cancel_kernel_send(struct channel *kch);
extern uint64_t ipc_fastpath_count, ipc_slowpath_count;

/* pager.c */
void pager_fault(struct thread *t, vaddr_t addr, uint32_t code, uint64_t ip);
error_t pager_reply(struct thread *cur, struct channel *kch);
void pager_cancel(struct process *p);
void pager_sent(struct sender *s, error_t err);
void pager_thread_gone(struct thread *t);
void pager_report_exit(struct process *p, uint32_t cause, int32_t code, uint64_t ip, uint64_t addr);

/* debug.c */
void stack_guard_init(void);
void kstack_canary_set(uint64_t stack_top, uint64_t size);
NORETURN void kstack_canary_broken(const struct thread *t);

/* The lowest word of every pool kernel stack; checked on each switch away. */
#define KSTACK_CANARY 0x5ca1ab1e0ddba11ULL

static inline void kstack_canary_check(const struct thread *t) {
    if (t->index >= 0
        && UNLIKELY(*(const uint64_t *) (t->arch.stack_top - KSTACK_SIZE) != KSTACK_CANARY))
        kstack_canary_broken(t);
}
void kselftest(const char *what);

/* kserver.c */
error_t kserver_call(struct thread *cur, struct channel *ch, struct channel *kch);
struct channel *kserver_boot_channel(struct process *p);
void kserver_closed(struct channel *kch);
void timer_tick(uint64_t now_ns);
void kserver_pool_low_tick(void);
void irq_notify(unsigned irq);
