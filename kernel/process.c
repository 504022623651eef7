/*
 * Processes and threads from fixed pools. A process dies in two steps:
 * process_exit stops its threads, closes its channels and tells its pager
 * (pager.exited); the pager then calls kernel.destroy_process, which frees
 * the address space and hands every ordinary page back to the pager.
 */
#include "process.h"
#include "memory.h"
#include "trace.h"

#define KSTACK_SLOT (KSTACK_SIZE + PAGE_SIZE) /* a guard page below each stack */

struct process kernel_process = {.pid = 0, .state = PROC_ALIVE, .name = "kernel"};
static struct process procs[MAX_PROCS];
static struct thread threads[MAX_THREADS];
static pid_t_ next_pid = 1;
static tid_t next_tid = 1;
static unsigned procs_used, threads_used;

static uint64_t kstack_top(int index) {
    return KSTACK_BASE + (uint64_t) (index + 1) * KSTACK_SLOT;
}

void process_init(void) {
    for (int i = 0; i < MAX_THREADS; i++) {
        uint64_t top = kstack_top(i);
        for (uint64_t va = top - KSTACK_SIZE; va < top; va += PAGE_SIZE)
            vm_map_kernel(va, boot_alloc_page(), PTE_WRITE | PTE_NX);
    }
}

struct process *process_create(const char *name) {
    for (int i = 0; i < MAX_PROCS; i++) {
        struct process *p = &procs[i];
        if (p->state != PROC_FREE)
            continue;
        memset(p, 0, sizeof(*p));
        if (vm_space_init(&p->vm) != OK)
            return NULL;
        p->pid = next_pid++;
        p->state = PROC_ALIVE;
        strcpy_safe(p->name, name, sizeof(p->name));
        list_init(&p->threads);
        list_init(&p->fault_queue);
        procs_used++;
        return p;
    }
    return NULL;
}

struct process *process_find(pid_t_ pid) {
    for (int i = 0; i < MAX_PROCS; i++)
        if (procs[i].state != PROC_FREE && procs[i].pid == pid)
            return &procs[i];
    return NULL;
}

/* The live process with the smallest pid >= pid. */
struct process *process_next(pid_t_ pid) {
    struct process *best = NULL;
    for (int i = 0; i < MAX_PROCS; i++) {
        struct process *p = &procs[i];
        if (p->state != PROC_FREE && p->pid >= pid && (!best || p->pid < best->pid))
            best = p;
    }
    return best;
}

unsigned process_count(void) {
    return procs_used;
}

unsigned thread_count(void) {
    return threads_used;
}

static int alloc_slot(struct process *p) {
    for (int s = 0; s < USER_THREAD_SLOTS; s++) {
        if (!(p->slots[s / 64] & (1ULL << (s % 64)))) {
            p->slots[s / 64] |= 1ULL << (s % 64);
            return s;
        }
    }
    return -1;
}

static void free_slot(struct process *p, int s) {
    p->slots[s / 64] &= ~(1ULL << (s % 64));
}

static struct thread *alloc_thread(void) {
    for (int i = 0; i < MAX_THREADS; i++)
        if (threads[i].state == THREAD_FREE)
            return &threads[i];
    return NULL;
}

struct thread *thread_create(struct process *p, vaddr_t entry, vaddr_t stack, uint64_t arg,
                             error_t *err) {
    struct thread *t = alloc_thread();
    int slot = -1;
    *err = OK;
    if (!vm_user_range(entry, 1) || !vm_user_range(stack - 8, 8))
        *err = ERR_INVALID_ARG;
    else if (!t || (slot = alloc_slot(p)) < 0)
        *err = ERR_NO_RESOURCES;
    if (*err)
        return NULL;

    vaddr_t uva = USER_THREAD_INFO_BASE + (uint64_t) slot * PAGE_SIZE;
    paddr_t info = 0;
    if (vm_tables_needed(&p->vm, uva, PAGE_SIZE) + 1 > kpage_free_count()
        || !(info = kpage_alloc())) {
        free_slot(p, slot);
        *err = ERR_NO_MEMORY;
        return NULL;
    }
    vm_map(&p->vm, uva, info, PTE_WRITE | PTE_NX | PTE_KOWNED);

    int index = (int) (t - threads);
    memset(t, 0, sizeof(*t));
    t->tid = next_tid++;
    t->index = index;
    t->proc = p;
    t->slot = slot;
    t->info_pa = info;
    t->info_uva = uva;
    t->info = phys_to_virt(info);
    t->info->self = uva;
    t->info->pid = p->pid;
    t->info->tid = t->tid;
    t->info->arg = arg;
    list_init(&t->run_node);
    list_init(&t->wait_node);
    list_init(&t->send.node);
    list_push_back(&p->threads, &t->proc_node);
    p->num_threads++;
    threads_used++;
    arch_thread_init(&t->arch, kstack_top(index), p->vm.pml4, uva, entry, stack, arg);
    kstack_canary_set(kstack_top(index), KSTACK_SIZE);
    t->state = THREAD_SEND; /* anything but RUNNABLE, so that wake queues it */
    thread_wake(t, OK);
    return t;
}

/* A thread of the kernel process running fn on a pool stack (self-tests). */
struct thread *kthread_create(void (*fn)(void)) {
    struct thread *t = alloc_thread();
    if (!t)
        return NULL;
    int index = (int) (t - threads);
    memset(t, 0, sizeof(*t));
    t->tid = next_tid++;
    t->index = index;
    t->proc = &kernel_process;
    list_init(&t->run_node);
    list_init(&t->wait_node);
    list_init(&t->send.node);
    threads_used++;
    arch_kthread_init(&t->arch, kstack_top(index), fn);
    kstack_canary_set(kstack_top(index), KSTACK_SIZE);
    t->state = THREAD_SEND;
    thread_wake(t, OK);
    return t;
}

struct thread *thread_find(tid_t tid) {
    for (int i = 0; i < MAX_THREADS; i++)
        if (threads[i].state != THREAD_FREE && threads[i].tid == tid)
            return &threads[i];
    return NULL;
}

/* Take t out of whatever it waits in and free it. If t is the current
 * thread this does not return. */
void thread_destroy(struct thread *t) {
    struct process *p = t->proc;
    switch (t->state) {
    case THREAD_RUNNABLE: sched_remove(t); break;
    case THREAD_SEND: list_remove(&t->send.node); break;
    case THREAD_RECV: list_remove(&t->wait_node); break;
    case THREAD_PAGER: pager_thread_gone(t); break;
    default: break;
    }
    vm_unmap(&p->vm, t->info_uva);
    kpage_free(t->info_pa);
    free_slot(p, t->slot);
    list_remove(&t->proc_node);
    p->num_threads--;
    threads_used--;
    t->state = THREAD_FREE;
    if (t == current)
        sched_block();
}

static void stop_process(struct process *p) {
    struct thread *self = NULL;
    while (!list_is_empty(&p->threads)) {
        struct thread *t = container_of(p->threads.next, struct thread, proc_node);
        if (t == current) {
            list_remove(&t->proc_node);
            self = t;
            continue;
        }
        thread_destroy(t);
    }
    for (cid_t cid = 1; cid < MAX_CIDS; cid++)
        if (p->cids[cid])
            channel_close(p->cids[cid]);
    /* A process that ends while it runs (exit, fault) has its ports open
     * in the TSS bitmap: close them before forgetting them, or every
     * later process may use them. */
    if (self)
        arch_io_switch(p, NULL);
    p->num_io = 0;
    if (self) {
        list_push_back(&p->threads, &self->proc_node);
        thread_destroy(self);
    }
}

/* The user instruction pointer of a thread that is not running, from the
 * frame at the top of its kernel stack: an interrupt frame (ends with the
 * user SS) or the syscall frame (user rsp, rip, rflags, rbp). */
uint64_t thread_user_ip(const struct thread *t) {
    const uint64_t *top = (const uint64_t *) t->arch.stack_top;
    if (t->state == THREAD_PAGER)
        return t->fault_ip;
    return top[-1] == GDT_USER_DATA ? top[-5] : top[-2];
}

/* The type of the message p's ending thread was handling (0: none). The
 * ending thread is the current one if it is p's (a fault, an exit), else
 * the first faulting one (the pager refused), else p's first thread. */
uint32_t process_serving(struct process *p) {
    struct thread *t = NULL;
    if (current && current->proc == p)
        t = current;
    else if (!list_is_empty(&p->fault_queue))
        t = container_of(p->fault_queue.next, struct thread, wait_node);
    else if (!list_is_empty(&p->threads))
        t = container_of(p->threads.next, struct thread, proc_node);
    if (!t || (t->state == THREAD_RECV && t->awaiting_request))
        return 0; /* waiting for its next message */
    return t->serving;
}

void process_exit(struct process *p, uint32_t cause, int32_t code, uint64_t ip, uint64_t addr) {
    if (!p->pager)
        panic("process_exit: %s (pid %d) has no pager and died: cause %u code %d ip %p addr %p",
              p->name, p->pid, cause, code, (void *) ip, (void *) addr);
    printk("[kernel] %s (pid %d) exited: cause %u code %d ip %p addr %p\n", p->name, p->pid,
           cause, code, (void *) ip, (void *) addr);
    p->state = PROC_ZOMBIE;
    pager_report_exit(p, cause, code, ip, addr);
    stop_process(p); /* does not return if p is the current process */
}

struct reclaim_ctx {
    struct process *to;
    uint64_t withheld; /* DMA-pinned pages kept out of circulation */
};

/* A page of a destroyed process. DMA-pinned pages are never reused: the
 * device that was given their address may still write to them (nothing
 * stops a driver's NIC or disk when the driver dies), so they stay
 * nobody's; a driver restarted by its supervisor resets its device and
 * pins fresh memory. */
static void reclaim_page(paddr_t pa, uint64_t pte, void *arg) {
    struct reclaim_ctx *ctx = arg;
    if (pte & PTE_KOWNED) {
        kpage_free(pa);
    } else if (pte & PTE_PINNED) {
        ctx->withheld++;
    } else if (!(pte & PTE_DEVICE)) {
        if (memory_is_ram(pa)
            && vm_map(&ctx->to->vm, USER_PHYS_WINDOW + pa, pa, PTE_WRITE | PTE_NX) == OK)
            reclaim_push(pa);
        else
            kpage_donate(pa); /* no room in the window: not lost, the kernel keeps it */
    }
}

void process_destroy(struct process *p, struct process *reclaimer) {
    if (p->state == PROC_ALIVE)
        p->state = PROC_ZOMBIE;
    pager_cancel(p);
    stop_process(p);
    if (p->pager)
        channel_close(p->pager);
    struct reclaim_ctx ctx = {reclaimer, 0};
    vm_space_destroy(&p->vm, reclaim_page, &ctx);
    if (ctx.withheld)
        printk("[kernel] %s (pid %d): %lu DMA-pinned pages withheld (a device may still "
               "write to them)\n", p->name, p->pid, ctx.withheld);
    p->state = PROC_FREE;
    procs_used--;
}

static void count_page(paddr_t pa UNUSED, uint64_t pte, void *arg) {
    if (!(pte & (PTE_KOWNED | PTE_DEVICE)))
        (*(uint64_t *) arg)++;
}

uint64_t process_pages(struct process *p) {
    uint64_t n = 0;
    vm_space_walk(&p->vm, count_page, &n);
    return n;
}

int process_channel_count(struct process *p) {
    int n = 0;
    for (cid_t cid = 1; cid < MAX_CIDS; cid++)
        n += p->cids[cid] != NULL;
    return n;
}
