/*
 * The kernel server: requests sent on a channel whose peer is a CH_KSERVER
 * kernel end are handled right here, in the caller's context, and the reply
 * is written into the caller's IPC buffer. Rights live on the kernel end of
 * the channel (kernel.open_narrowed can only narrow them). Every handler
 * checks all its arguments and rights before it changes anything.
 */
#include "process.h"
#include "memory.h"
#include "trace.h"
#include <idl.h>

struct kcall {
    struct thread *cur;
    struct process *proc;
    struct channel *kch;
};

/* The kernel ends of the IRQ channels listening on each line. PCI INTx
 * lines are level-triggered and shared: several drivers (each with its own
 * device on the line) may listen to one. Each interrupt masks the line and
 * notifies every listener; the line is unmasked once all of them have
 * acknowledged (or gone). A head whose next is NULL is an empty list. */
static struct list_head irq_listeners[16];
static struct list_head timers = {&timers, &timers};

static bool has_right(struct kcall *k, uint32_t right) {
    return (k->kch->rights.flags & (right | KRIGHT_ADMIN)) != 0;
}

static bool is_admin(struct kcall *k) {
    return has_right(k, KRIGHT_ADMIN);
}

/* The caller's own process for pid 0; another one only with admin. */
static error_t target_process(struct kcall *k, int32_t pid, struct process **out) {
    if (pid == 0 || pid == k->proc->pid) {
        *out = k->proc;
        return OK;
    }
    if (!is_admin(k))
        return ERR_NOT_PERMITTED;
    struct process *p = process_find(pid);
    if (!p || p->state != PROC_ALIVE)
        return ERR_NOT_FOUND;
    *out = p;
    return OK;
}

/* A channel of the caller that may leave its table. */
static error_t movable_channel(struct kcall *k, cid_t cid, struct channel **out) {
    struct channel *c = channel_get(k->proc, cid);
    if (!c)
        return ERR_INVALID_CID;
    if (!list_is_empty(&c->group) || !list_is_empty(&c->receivers))
        return ERR_IN_USE;
    *out = c;
    return OK;
}

static void take_channel(struct kcall *k, struct channel *c) {
    channel_untransfer(c);
    k->proc->cids[c->cid] = NULL;
}

/* A kernel end of `kind` linked to a new endpoint in the caller. */
static error_t new_kernel_pair(struct kcall *k, enum channel_kind kind, struct channel **kend,
                               cid_t *user_cid) {
    struct channel *kc = channel_alloc(&kernel_process, kind);
    struct channel *uc = kc ? channel_alloc(k->proc, CH_USER) : NULL;
    if (!uc || channel_install(k->proc, uc) != OK) {
        channel_free(kc);
        channel_free(uc);
        return ERR_NO_RESOURCES;
    }
    channel_link(kc, uc);
    *kend = kc;
    *user_cid = uc->cid;
    return OK;
}

static error_t k_create_process(void *ctx, cid_t from UNUSED, const char *name, cid_t pager,
                                int32_t *pid) {
    struct kcall *k = ctx;
    struct channel *c;
    if (!is_admin(k))
        return ERR_NOT_PERMITTED;
    error_t err = movable_channel(k, pager, &c);
    if (err)
        return err;
    if (!name[0])
        return ERR_INVALID_ARG;
    struct process *p = process_create(name);
    if (!p)
        return ERR_NO_RESOURCES;
    take_channel(k, c);
    c->owner = &kernel_process;
    c->kind = CH_PAGER;
    c->pager_of = p;
    p->pager = c;
    *pid = p->pid;
    return OK;
}

static error_t k_destroy_process(void *ctx, cid_t from UNUSED, int32_t pid) {
    struct kcall *k = ctx;
    if (!is_admin(k))
        return ERR_NOT_PERMITTED;
    struct process *p = process_find(pid);
    if (!p)
        return ERR_NOT_FOUND;
    if (p == k->proc)
        return ERR_INVALID_ARG;
    process_destroy(p, k->proc);
    return OK;
}

/* The supervisor's test hook: p ends as if its first thread had faulted
 * where it stands (in a system call, or wherever it was interrupted). */
static error_t k_inject_fault(void *ctx, cid_t from UNUSED, int32_t pid) {
    struct kcall *k = ctx;
    if (!is_admin(k))
        return ERR_NOT_PERMITTED;
    struct process *p = process_find(pid);
    if (!p || p->state != PROC_ALIVE || list_is_empty(&p->threads))
        return ERR_NOT_FOUND;
    if (p == k->proc || !p->pager)
        return ERR_NOT_PERMITTED; /* memmgr and the kernel have no supervisor */
    struct thread *t = container_of(p->threads.next, struct thread, proc_node);
    process_exit(p, EXIT_INJECTED, 0, thread_user_ip(t), 0);
    return OK;
}

static error_t k_give_channel(void *ctx, cid_t from UNUSED, int32_t pid, cid_t ch, int32_t *cid) {
    struct kcall *k = ctx;
    struct process *p;
    struct channel *c;
    error_t err = target_process(k, pid, &p);
    if (!err)
        err = movable_channel(k, ch, &c);
    if (err)
        return err;
    if (p == k->proc)
        return ERR_INVALID_ARG;
    if (process_channel_count(p) >= MAX_CIDS - 1)
        return ERR_NO_RESOURCES;
    take_channel(k, c);
    channel_install(p, c);
    *cid = c->cid;
    return OK;
}

static error_t k_spawn_thread(void *ctx, cid_t from UNUSED, int32_t pid, uint64_t entry,
                              uint64_t stack, uint64_t arg, int32_t *tid) {
    struct kcall *k = ctx;
    struct process *p;
    error_t err = target_process(k, pid, &p);
    if (err)
        return err;
    struct thread *t = thread_create(p, entry, stack, arg, &err);
    if (t)
        *tid = t->tid;
    return err;
}

static error_t k_kill_thread(void *ctx, cid_t from UNUSED, int32_t tid) {
    struct kcall *k = ctx;
    struct thread *t = thread_find(tid);
    if (!t || t->state == THREAD_DEAD)
        return ERR_NOT_FOUND;
    if (t->proc != k->proc && !is_admin(k))
        return ERR_NOT_PERMITTED;
    if (t->proc->pager == NULL && t->proc != k->proc)
        return ERR_NOT_PERMITTED; /* memmgr's threads are not for others to kill */
    thread_destroy(t);
    return OK;
}

static error_t k_exit(void *ctx, cid_t from UNUSED, int32_t code) {
    struct kcall *k = ctx;
    process_exit(k->proc, EXIT_NORMAL, code, 0, 0);
    return ERR_UNEXPECTED; /* not reached for processes with a pager */
}

static error_t k_map(void *ctx, cid_t from UNUSED, int32_t pid, uint64_t vaddr, uint32_t prot,
                     uint64_t addr, uint64_t len) {
    struct kcall *k = ctx;
    struct process *p;
    error_t err = target_process(k, pid, &p);
    if (!err && (prot & ~(PROT_WRITE | PROT_EXEC)))
        err = ERR_INVALID_ARG;
    if (!err)
        err = vm_check_movable(&k->proc->vm, addr, len);
    if (!err)
        err = vm_check_free(&p->vm, vaddr, len);
    if (err)
        return err == ERR_NOT_ACCEPTED ? ERR_ALREADY_EXISTS : err;
    vm_move(&k->proc->vm, addr, &p->vm, vaddr, len, prot_to_pte(prot));
    return OK;
}

static error_t k_unmap(void *ctx, cid_t from UNUSED, uint64_t vaddr, uint64_t len,
                       uint64_t *pages_addr, uint64_t *pages_len) {
    struct kcall *k = ctx;
    struct thread_info *ti = k->cur->info;
    error_t err = vm_check_movable(&k->proc->vm, vaddr, len);
    if (err)
        return err;
    if (len > ti->page_window_len)
        return ERR_NOT_ACCEPTED;
    if ((err = vm_check_free(&k->proc->vm, ti->page_window, len)))
        return err;
    vm_move(&k->proc->vm, vaddr, &k->proc->vm, ti->page_window, len, PTE_WRITE | PTE_NX);
    *pages_addr = ti->page_window;
    *pages_len = len;
    return OK;
}

static bool io_within(const struct krights *r, uint16_t base, uint16_t len) {
    if (r->flags & KRIGHT_ADMIN)
        return true;
    for (int i = 0; i < KRIGHT_MAX_IO; i++)
        if (r->io[i].len && base >= r->io[i].base
            && (uint32_t) base + len <= (uint32_t) r->io[i].base + r->io[i].len)
            return true;
    return false;
}

static bool mmio_within(const struct krights *r, uint64_t base, uint64_t len) {
    if (r->flags & KRIGHT_ADMIN)
        return true;
    for (int i = 0; i < KRIGHT_MAX_MMIO; i++)
        if (r->mmio[i].len && base >= r->mmio[i].base && len <= r->mmio[i].len
            && base - r->mmio[i].base <= r->mmio[i].len - len)
            return true;
    return false;
}

static error_t k_open_narrowed(void *ctx, cid_t from UNUSED, uint32_t flags, uint32_t irq_mask,
                               const void *io_base, size_t io_base_len, const void *io_len,
                               size_t io_len_len, const void *mmio_base, size_t mmio_base_len,
                               const void *mmio_len, size_t mmio_len_len, cid_t *ch) {
    struct kcall *k = ctx;
    const struct krights *mine = &k->kch->rights;
    struct krights r = {.flags = flags, .irq_mask = irq_mask};
    if (io_base_len != sizeof(uint16_t) * KRIGHT_MAX_IO || io_len_len != io_base_len
        || mmio_base_len != sizeof(uint64_t) * KRIGHT_MAX_MMIO || mmio_len_len != mmio_base_len
        || (flags & ~KRIGHT_ALL))
        return ERR_INVALID_ARG;
    for (int i = 0; i < KRIGHT_MAX_IO; i++) {
        memcpy(&r.io[i].base, (const uint16_t *) io_base + i, sizeof(uint16_t));
        memcpy(&r.io[i].len, (const uint16_t *) io_len + i, sizeof(uint16_t));
        if (r.io[i].len && !io_within(mine, r.io[i].base, r.io[i].len))
            return ERR_NOT_PERMITTED;
    }
    for (int i = 0; i < KRIGHT_MAX_MMIO; i++) {
        memcpy(&r.mmio[i].base, (const uint64_t *) mmio_base + i, sizeof(uint64_t));
        memcpy(&r.mmio[i].len, (const uint64_t *) mmio_len + i, sizeof(uint64_t));
        if (r.mmio[i].len && !mmio_within(mine, r.mmio[i].base, r.mmio[i].len))
            return ERR_NOT_PERMITTED;
    }
    if (!(mine->flags & KRIGHT_ADMIN)
        && ((flags & ~mine->flags) || (irq_mask & ~mine->irq_mask)))
        return ERR_NOT_PERMITTED;
    struct channel *kc;
    error_t err = new_kernel_pair(k, CH_KSERVER, &kc, ch);
    if (!err)
        kc->rights = r;
    return err;
}

static error_t k_ioport_enable(void *ctx, cid_t from UNUSED, uint16_t base, uint16_t len) {
    struct kcall *k = ctx;
    struct process *p = k->proc;
    if (len == 0 || (uint32_t) base + len > 0x10000)
        return ERR_INVALID_ARG;
    if (!has_right(k, KRIGHT_IO) || !io_within(&k->kch->rights, base, len))
        return ERR_NOT_PERMITTED;
    if (p->num_io == KRIGHT_MAX_IO)
        return ERR_NO_RESOURCES;
    p->io[p->num_io++] = (struct io_range){base, len};
    arch_io_refresh(p);
    return OK;
}

static bool irq_allowed(struct kcall *k, uint32_t irq) {
    return has_right(k, KRIGHT_IRQ)
           && (is_admin(k) || (k->kch->rights.irq_mask & (1u << irq)));
}

static struct list_head *irq_line(unsigned irq) {
    struct list_head *head = &irq_listeners[irq];
    if (!head->next)
        list_init(head);
    return head;
}

/* The listener of irq whose user end belongs to p, or NULL. */
static struct channel *irq_listener_of(unsigned irq, struct process *p) {
    struct list_head *line = irq_line(irq);
    LIST_FOR_EACH(kc, line, struct channel, irq.node)
        if (kc->peer && kc->peer->owner == p)
            return kc;
    return NULL;
}

/* Unmask irq when it has listeners and none still owes an acknowledgement;
 * mask it when nobody listens. */
static void irq_update_mask(unsigned irq) {
    struct list_head *line = irq_line(irq);
    if (list_is_empty(line)) {
        pic_mask(irq);
        return;
    }
    LIST_FOR_EACH(kc, line, struct channel, irq.node)
        if (kc->irq.unacked)
            return;
    pic_unmask(irq);
}

/* One listener per process and line: irq_ack names only the line. */
static error_t k_irq_listen(void *ctx, cid_t from UNUSED, uint32_t irq, cid_t *ch) {
    struct kcall *k = ctx;
    if (irq >= 16 || irq == 0 || irq == 2)
        return ERR_INVALID_ARG;
    if (!irq_allowed(k, irq))
        return ERR_NOT_PERMITTED;
    if (irq_listener_of(irq, k->proc))
        return ERR_IN_USE;
    struct channel *kc;
    error_t err = new_kernel_pair(k, CH_IRQ, &kc, ch);
    if (err)
        return err;
    kc->irq.line = irq;
    kc->irq.unacked = false;
    list_push_back(irq_line(irq), &kc->irq.node);
    irq_update_mask(irq);
    return OK;
}

static error_t k_irq_ack(void *ctx, cid_t from UNUSED, uint32_t irq) {
    struct kcall *k = ctx;
    if (irq >= 16)
        return ERR_INVALID_ARG;
    struct channel *kc = irq_listener_of(irq, k->proc);
    if (!kc)
        return ERR_NOT_PERMITTED;
    kc->irq.unacked = false;
    irq_update_mask(irq);
    return OK;
}

static error_t k_mmio_map(void *ctx, cid_t from UNUSED, uint64_t paddr, uint64_t len,
                          uint64_t vaddr) {
    struct kcall *k = ctx;
    if (!IS_ALIGNED(paddr, PAGE_SIZE) || !IS_ALIGNED(len, PAGE_SIZE) || len == 0
        || len > 64 * 1024 * 1024 || paddr + len < paddr)
        return ERR_INVALID_ARG;
    if (!has_right(k, KRIGHT_MMIO) || !mmio_within(&k->kch->rights, paddr, len))
        return ERR_NOT_PERMITTED;
    for (uint64_t off = 0; off < len; off += PAGE_SIZE)
        if (memory_is_ram(paddr + off))
            return ERR_NOT_PERMITTED;
    error_t err = vm_check_free(&k->proc->vm, vaddr, len);
    if (err)
        return err == ERR_NOT_ACCEPTED ? ERR_ALREADY_EXISTS : err;
    for (uint64_t off = 0; off < len; off += PAGE_SIZE)
        vm_map(&k->proc->vm, vaddr + off, paddr + off,
               PTE_WRITE | PTE_NX | PTE_PCD | PTE_DEVICE);
    return OK;
}

static error_t k_dma_pin(void *ctx, cid_t from UNUSED, uint64_t vaddr, uint64_t len,
                         uint64_t *paddr) {
    struct kcall *k = ctx;
    if (!has_right(k, KRIGHT_DMA))
        return ERR_NOT_PERMITTED;
    if (!IS_ALIGNED(vaddr, PAGE_SIZE) || !IS_ALIGNED(len, PAGE_SIZE) || len == 0
        || len > PAGE_PAYLOAD_MAX || !vm_user_range(vaddr, len))
        return ERR_INVALID_ARG;
    paddr_t first = 0;
    for (uint64_t off = 0; off < len; off += PAGE_SIZE) {
        uint64_t *e = vm_lookup(&k->proc->vm, vaddr + off);
        if (!e || (*e & (PTE_DEVICE | PTE_KOWNED)))
            return ERR_BAD_PAGE;
        if (off == 0)
            first = *e & PTE_ADDR;
        else if ((*e & PTE_ADDR) != first + off)
            return ERR_BAD_PAGE;
    }
    for (uint64_t off = 0; off < len; off += PAGE_SIZE)
        *vm_lookup(&k->proc->vm, vaddr + off) |= PTE_PINNED;
    *paddr = first;
    return OK;
}

static error_t k_clock(void *ctx UNUSED, cid_t from UNUSED, uint64_t *ns, uint64_t *hz,
                       uint64_t *boot_unix) {
    *ns = clock_now_ns();
    *hz = tsc_frequency;
    *boot_unix = boot_unix_time;
    return OK;
}

static error_t k_timer_create(void *ctx, cid_t from UNUSED, cid_t *ch) {
    struct channel *kc;
    error_t err = new_kernel_pair(ctx, CH_TIMER, &kc, ch);
    if (!err)
        list_init(&kc->timer.node);
    return err;
}

static error_t k_timer_set(void *ctx, cid_t from UNUSED, int32_t cid, uint64_t ns,
                           uint32_t periodic) {
    struct kcall *k = ctx;
    struct channel *c = channel_get(k->proc, cid);
    if (!c || !c->peer || c->peer->kind != CH_TIMER)
        return ERR_INVALID_CID;
    if (ns > 1000ULL * 1000 * 1000 * 3600 * 24 * 365 || (periodic && ns < 100000))
        return ERR_INVALID_ARG;
    struct channel *kc = c->peer;
    list_remove(&kc->timer.node);
    if (ns == 0)
        return OK;
    kc->timer.deadline = clock_now_ns() + ns;
    kc->timer.period = periodic ? ns : 0;
    list_push_back(&timers, &kc->timer.node);
    return OK;
}

void timer_tick(uint64_t now) {
    LIST_FOR_EACH_SAFE(kc, &timers, struct channel, timer.node) {
        if (kc->timer.deadline > now)
            continue;
        if (kc->timer.period) {
            while (kc->timer.deadline <= now)
                kc->timer.deadline += kc->timer.period;
        } else {
            list_remove(&kc->timer.node);
        }
        if (kc->peer) {
            channel_notify(kc->peer, NOTIFY_TIMER);
            need_resched = true;
        }
    }
}

/* The line fired (the trap handler has masked it): tell every listener;
 * each owes an irq_ack before the line is unmasked again. */
void irq_notify(unsigned irq) {
    struct list_head *line = irq_line(irq);
    LIST_FOR_EACH(kc, line, struct channel, irq.node) {
        if (!kc->peer)
            continue;
        kc->irq.unacked = true;
        channel_notify(kc->peer, NOTIFY_IRQ);
        need_resched = true;
    }
}

static error_t k_print(void *ctx, cid_t from UNUSED, const void *text, size_t len) {
    struct kcall *k = ctx;
    if (!has_right(k, KRIGHT_CONSOLE))
        return ERR_NOT_PERMITTED;
    const char *s = text;
    for (size_t i = 0; i < len; i++)
        if (s[i] != '\r')
            serial_putc(s[i]);
    return OK;
}

static error_t k_process_info(void *ctx UNUSED, cid_t from UNUSED, int32_t pid, int32_t *out_pid,
                              char *name, uint32_t *state, uint32_t *threads, uint32_t *chans,
                              uint64_t *pages, uint64_t *sent, uint64_t *received,
                              uint64_t *faults) {
    struct process *p = process_next(pid < 0 ? 0 : pid);
    if (!p)
        return ERR_NOT_FOUND;
    *out_pid = p->pid;
    strcpy_safe(name, p->name, 32);
    *state = p->state;
    *threads = p->num_threads;
    *chans = process_channel_count(p);
    *pages = process_pages(p);
    *sent = p->sent;
    *received = p->received;
    *faults = p->faults;
    return OK;
}

static error_t k_donate(void *ctx, cid_t from UNUSED, uint64_t addr, uint64_t len) {
    struct kcall *k = ctx;
    if (!is_admin(k))
        return ERR_NOT_PERMITTED;
    error_t err = vm_check_movable(&k->proc->vm, addr, len);
    if (err)
        return err;
    for (uint64_t off = 0; off < len; off += PAGE_SIZE)
        kpage_donate(vm_unmap(&k->proc->vm, addr + off));
    vm_prune_range(&k->proc->vm, addr, len);
    return OK;
}

static error_t k_stats(void *ctx UNUSED, cid_t from UNUSED, uint32_t *procs, uint32_t *procs_max,
                       uint32_t *threads, uint32_t *threads_max, uint32_t *chans,
                       uint32_t *chans_max, uint32_t *pool, uint32_t *pool_free,
                       uint64_t *fast, uint64_t *slow) {
    *procs = process_count();
    *procs_max = MAX_PROCS;
    *threads = thread_count();
    *threads_max = MAX_THREADS;
    *chans = channel_count();
    *chans_max = MAX_CHANNELS;
    *pool = kpage_total();
    *pool_free = kpage_free_count();
    *fast = ipc_fastpath_count;
    *slow = ipc_slowpath_count;
    return OK;
}

static error_t k_shutdown(void *ctx, cid_t from UNUSED, uint32_t code) {
    if (!is_admin(ctx))
        return ERR_NOT_PERMITTED;
    printk("[kernel] power off (code %u)\n", code);
    if (trace_enabled)
        trace_flush();
    arch_poweroff(code);
}

static error_t k_reclaim(void *ctx, cid_t from UNUSED, uint32_t *count, void *pfns,
                         size_t *pfns_len) {
    if (!is_admin(ctx))
        return ERR_NOT_PERMITTED;
    uint32_t buf[50];
    int n = reclaim_pop(buf, 50);
    memcpy(pfns, buf, n * sizeof(uint32_t));
    *pfns_len = n * sizeof(uint32_t);
    *count = n;
    return OK;
}

static const struct kernel_server_ops kserver_ops = {
    .create_process = k_create_process,
    .destroy_process = k_destroy_process,
    .give_channel = k_give_channel,
    .spawn_thread = k_spawn_thread,
    .kill_thread = k_kill_thread,
    .exit = k_exit,
    .map = k_map,
    .unmap = k_unmap,
    .open_narrowed = k_open_narrowed,
    .ioport_enable = k_ioport_enable,
    .irq_listen = k_irq_listen,
    .irq_ack = k_irq_ack,
    .mmio_map = k_mmio_map,
    .dma_pin = k_dma_pin,
    .clock = k_clock,
    .timer_create = k_timer_create,
    .timer_set = k_timer_set,
    .print = k_print,
    .process_info = k_process_info,
    .donate = k_donate,
    .stats = k_stats,
    .shutdown = k_shutdown,
    .reclaim = k_reclaim,
    .inject_fault = k_inject_fault,
};

error_t kserver_call(struct thread *cur, struct channel *ch, struct channel *kch) {
    struct kcall k = {cur, cur->proc, kch};
    struct message *m = &cur->info->ipc;
    struct message reply;
    if (msg_len(m) > MSG_INLINE_MAX)
        return ERR_BAD_MESSAGE;
    trace_message(TRACE_KCALL, cur->proc, &kernel_process, kch, m);
    if (!kernel_dispatch(&kserver_ops, &k, m, &reply))
        idl_error_reply(&reply, msg_type(m), ERR_NOT_SUPPORTED);
    memcpy(m, &reply, MSG_HEADER_SIZE + msg_len(&reply));
    m->from = ch->cid;
    cur->proc->sent++;
    cur->proc->received++;
    trace_message(TRACE_KCALL, &kernel_process, cur->proc, ch, m);
    return OK;
}

static struct channel *events; /* kernel end of memmgr's CID_KERNEL_EVENTS */

/* From the timer tick: tell memmgr the page pool runs low (kpage_alloc
 * only sets a flag: it runs in the middle of page-table changes). */
void kserver_pool_low_tick(void) {
    if (kpool_low_pending && events && events->peer) {
        kpool_low_pending = false;
        channel_notify(events->peer, NOTIFY_POOL_LOW);
        need_resched = true;
    }
}

struct channel *kserver_boot_channel(struct process *p) {
    struct channel *kc = channel_alloc(&kernel_process, CH_KSERVER);
    struct channel *uc = channel_alloc(p, CH_USER);
    KASSERT(kc && uc && !p->cids[CID_KERNEL]);
    kc->rights.flags = KRIGHT_ALL;
    p->cids[CID_KERNEL] = uc;
    uc->cid = CID_KERNEL;
    channel_link(kc, uc);

    events = channel_alloc(&kernel_process, CH_EVENTS);
    struct channel *ue = channel_alloc(p, CH_USER);
    KASSERT(events && ue && !p->cids[CID_KERNEL_EVENTS]);
    p->cids[CID_KERNEL_EVENTS] = ue;
    ue->cid = CID_KERNEL_EVENTS;
    channel_link(events, ue);
    return uc;
}

/* A kernel end is being closed: release what it stood for. */
void kserver_closed(struct channel *kc) {
    switch (kc->kind) {
    case CH_PAGER:
        if (kc->pager_of && kc->pager_of->pager == kc)
            kc->pager_of->pager = NULL;
        break;
    case CH_IRQ: /* the others need not wait for this one's ack */
        list_remove(&kc->irq.node);
        irq_update_mask(kc->irq.line);
        break;
    case CH_TIMER: list_remove(&kc->timer.node); break;
    case CH_EVENTS: events = NULL; break;
    default: break;
    }
}
