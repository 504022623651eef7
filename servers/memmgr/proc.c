/*
 * Processes: loading a program (its ELF stays in the initfs; pages are
 * filled on demand by pager.fill), the pager itself, and what happens when
 * a process ends (pager.exited, memmgr.kill): destroy it, take its pages
 * back, answer memmgr.wait callers, tell the name service, and hand it to
 * the supervisor (supervisor.c), which may start it again.
 */
#include "memmgr.h"

#define ELF_PT_LOAD 1
#define ELF_PF_X    1
#define ELF_PF_W    2
#define MAX_WAITERS 16

struct elf64_ehdr {
    uint8_t ident[16];
    uint16_t type, machine;
    uint32_t version;
    uint64_t entry, phoff, shoff;
    uint32_t flags;
    uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf64_phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

struct proc procs[MAX_PROCESSES];
static struct {
    cid_t from;
    int32_t pid;
} waiters[MAX_WAITERS];

/* Live or dead-but-not-waited-for process with this pid. */
struct proc *proc_by_pid(int32_t pid) {
    for (int i = 0; i < MAX_PROCESSES; i++)
        if (procs[i].used && procs[i].pid == pid)
            return &procs[i];
    return NULL;
}

struct proc *proc_by_client(cid_t from) {
    for (int i = 0; i < MAX_PROCESSES; i++)
        if (procs[i].used && procs[i].client_cid == from && from)
            return &procs[i];
    return NULL;
}

struct proc *proc_by_pager(cid_t from) {
    for (int i = 0; i < MAX_PROCESSES; i++)
        if (procs[i].used && procs[i].pager_cid == from && from)
            return &procs[i];
    return NULL;
}

/* One of our channel ends closed under us (its process died first). */
void proc_channel_closed(cid_t from) {
    for (int i = 0; i < MAX_PROCESSES; i++) {
        if (!procs[i].used)
            continue;
        if (procs[i].client_cid == from)
            procs[i].client_cid = 0;
        if (procs[i].pager_cid == from)
            procs[i].pager_cid = 0;
    }
}

/* A free slot, else the slot of a dead unsupervised process nobody waited
 * for. */
static struct proc *proc_alloc(void) {
    struct proc *p = NULL;
    for (int i = 0; i < MAX_PROCESSES && !p; i++)
        if (!procs[i].used)
            p = &procs[i];
    for (int i = 0; i < MAX_PROCESSES && !p; i++)
        if (procs[i].exited && !procs[i].supervised)
            p = &procs[i];
    if (p) {
        memset(p, 0, sizeof(*p));
        p->used = true;
        p->exit_cause = EXIT_NONE;
    }
    return p;
}

static struct proc *live(struct proc *p) {
    return p && p->used && !p->exited ? p : NULL;
}

/* Check the ELF and record its loadable segments. */
static error_t parse_elf(struct proc *p, uint64_t *entry) {
    const struct elf64_ehdr *eh = (const void *) p->image;
    if (p->image_size < sizeof(*eh) || memcmp(eh->ident, "\x7f" "ELF\x02\x01", 6)
        || eh->machine != 62 || eh->phentsize != sizeof(struct elf64_phdr)
        || eh->phoff > p->image_size
        || (uint64_t) eh->phnum * sizeof(struct elf64_phdr) > p->image_size - eh->phoff)
        return ERR_CORRUPT;
    const struct elf64_phdr *ph = (const void *) (p->image + eh->phoff);
    for (int i = 0; i < eh->phnum; i++) {
        if (ph[i].type != ELF_PT_LOAD)
            continue;
        if (p->num_segs == MAX_SEGMENTS || ph[i].filesz > ph[i].memsz
            || ph[i].offset > p->image_size || ph[i].filesz > p->image_size - ph[i].offset
            || ph[i].vaddr < USER_IMAGE_BASE || ph[i].memsz > USER_HEAP_BASE
            || ph[i].vaddr + ph[i].memsz > USER_HEAP_BASE)
            return ERR_CORRUPT;
        p->segs[p->num_segs++] = (struct segment){
            .vaddr = ph[i].vaddr,
            .memsz = ph[i].memsz,
            .filesz = ph[i].filesz,
            .offset = ph[i].offset,
            .prot = ((ph[i].flags & ELF_PF_W) ? PROT_WRITE : 0)
                    | ((ph[i].flags & ELF_PF_X) ? PROT_EXEC : 0),
        };
    }
    if (!p->num_segs || eh->entry < USER_IMAGE_BASE || eh->entry >= USER_HEAP_BASE)
        return ERR_CORRUPT;
    *entry = eh->entry;
    return OK;
}

/* Each step of a spawn is a kernel request that may need pool pages. */
struct spawn_ctx {
    struct proc *p;
    cid_t pager_theirs, client_theirs, kch;
    uint64_t entry;
    int32_t pid, cid, tid;
};

static error_t create_op(void *arg) {
    struct spawn_ctx *c = arg;
    return kernel_create_process(CID_KERNEL, c->p->name, c->pager_theirs, &c->pid);
}

static error_t give_op(void *arg) {
    struct spawn_ctx *c = arg;
    return kernel_give_channel(CID_KERNEL, c->pid, c->kch, &c->cid);
}

static error_t thread_op(void *arg) {
    struct spawn_ctx *c = arg;
    return kernel_spawn_thread(CID_KERNEL, c->pid, c->entry, USER_STACK_TOP, 0, &c->tid);
}

static error_t open_pair(cid_t *mine, cid_t *theirs) {
    *mine = sys_open();
    *theirs = sys_open();
    error_t err = (*mine < 0) ? *mine : (*theirs < 0) ? *theirs : sys_link(*mine, *theirs);
    if (err) {
        if (*mine > 0)
            sys_close(*mine);
        if (*theirs > 0)
            sys_close(*theirs);
    }
    return err;
}

static error_t narrowed_kernel_channel(const struct program *prog, cid_t *ch) {
    return kernel_open_narrowed(CID_KERNEL, prog->krights, prog->irq_mask, prog->io_base,
                                sizeof(prog->io_base), prog->io_len, sizeof(prog->io_len),
                                prog->mmio_base, sizeof(prog->mmio_base), prog->mmio_len,
                                sizeof(prog->mmio_len), ch);
}

/* Give the new process its channels: CID_MEMMGR (1) then CID_KERNEL (2). */
static error_t give_channels(struct spawn_ctx *c) {
    cid_t mine;
    error_t err = open_pair(&mine, &c->client_theirs);
    if (err)
        return err;
    c->kch = c->client_theirs;
    if ((err = kernel_retry(give_op, c)) || c->cid != CID_MEMMGR) {
        sys_close(mine);
        return err ? err : ERR_UNEXPECTED;
    }
    c->p->client_cid = mine;
    sys_transfer(mine, memmgr_main);
    if ((err = narrowed_kernel_channel(c->p->program, &c->kch)))
        return err;
    if ((err = kernel_retry(give_op, c)) || c->cid != CID_KERNEL)
        return err ? err : ERR_UNEXPECTED;
    return OK;
}

/* Start a new instance of p's program in slot p (p->program, name and
 * args set): at spawn, and when the supervisor restarts it. On failure
 * the slot holds no process (exited). */
error_t proc_start(struct proc *p) {
    struct spawn_ctx c = {.p = p};
    p->num_segs = 0;
    p->pager_cid = p->client_cid = 0;
    p->exited = true; /* until it runs */
    p->stopping = false;
    p->image = initfs_lookup(p->name, &p->image_size);
    error_t err = p->image ? parse_elf(p, &c.entry) : ERR_NOT_FOUND;
    if (!err)
        err = open_pair(&p->pager_cid, &c.pager_theirs);
    if (err)
        return err;
    if ((err = kernel_retry(create_op, &c))) {
        sys_close(p->pager_cid);
        sys_close(c.pager_theirs);
        p->pager_cid = 0;
        return err;
    }
    p->pid = c.pid;
    p->exited = false;
    sys_transfer(p->pager_cid, memmgr_main);
    p->started_ns = clock_ns();
    if ((err = give_channels(&c)) || (err = kernel_retry(thread_op, &c))) {
        printf("memmgr: starting %s failed: %s\n", p->name, err_name(err));
        kernel_destroy_process(CID_KERNEL, p->pid);
        proc_exited_hooks(p);
        return err;
    }
    if (p->supervised)
        p->pstate = PSTATE_RUNNING;
    return OK;
}

/* Start program `name`. A supervised program has one instance: starting
 * it while it runs is ERR_ALREADY_EXISTS; while it is down (waiting,
 * given up or stopped) it starts at once with a fresh crash-loop count. */
error_t proc_spawn(const char *name, const char *args, int32_t *pid) {
    const struct program *prog = program_find(name);
    if (!prog)
        return ERR_NOT_FOUND;
    struct proc *p = supervisor_instance(prog);
    if (p && !p->exited)
        return ERR_ALREADY_EXISTS;
    bool fresh = !p;
    if (fresh && !(p = proc_alloc()))
        return ERR_NO_RESOURCES;
    if (fresh) {
        strcpy_safe(p->name, name, sizeof(p->name));
        p->program = prog;
        p->supervised = prog->restart != RESTART_NEVER;
    }
    p->recent_ends = 0;
    strcpy_safe(p->args, args, sizeof(p->args));
    error_t err = proc_start(p);
    if (err) {
        if (!p->supervised)
            p->used = false;
        else if (fresh)
            p->pstate = PSTATE_FAILED;
        return err;
    }
    *pid = p->pid;
    return OK;
}


/* ---- the pager ----------------------------------------------------------- */

/* Copy the parts of every segment that fall into the page at va. */
static bool fill_from_image(struct proc *p, uint64_t va, uint64_t page, uint32_t *prot) {
    bool found = false;
    for (int i = 0; i < p->num_segs; i++) {
        const struct segment *s = &p->segs[i];
        if (va + PAGE_SIZE <= s->vaddr || va >= s->vaddr + s->memsz)
            continue;
        found = true;
        *prot |= s->prot;
        uint64_t lo = MAX(va, s->vaddr), hi = MIN(va + PAGE_SIZE, s->vaddr + s->filesz);
        if (hi > lo)
            memcpy((uint8_t *) page + (lo - va), p->image + s->offset + (lo - s->vaddr), hi - lo);
    }
    return found;
}

static bool zero_fill_region(uint64_t va) {
    return (va >= USER_HEAP_BASE && va < USER_HEAP_END)
           || (va >= USER_STACK_TOP - USER_STACK_SIZE && va < USER_STACK_TOP);
}

struct fill_reply {
    cid_t to;
    struct message m;
};

static error_t fill_reply_op(void *arg) {
    struct fill_reply *r = arg;
    return ipc_send_noblock(r->to, &r->m);
}

static error_t pager_fill_h(void *ctx, cid_t from, int32_t pid, int32_t tid, uint64_t addr,
                            uint32_t fault, uint32_t *prot, uint64_t *page_addr,
                            uint64_t *page_len) {
    struct proc *p = proc_by_pager(from);
    uint64_t va = ALIGN_DOWN(addr, PAGE_SIZE);
    if (!p || p->pid != pid)
        return ERR_NOT_FOUND;
    uint64_t page = page_alloc();
    if (!page)
        return ERR_NO_MEMORY;
    uint32_t pr = 0;
    if (!fill_from_image(p, va, page, &pr)) {
        if (!zero_fill_region(va)) {
            page_free(page);
            printf("memmgr: %s (pid %d, thread %d) touched unmapped %p (fault %#x)\n", p->name,
                   pid, tid, (void *) addr, fault);
            return ERR_NOT_FOUND;
        }
        pr = PROT_WRITE;
    }
    /* Answer here: the kernel may need pool pages to map it (retry). */
    struct fill_reply r = {.to = from};
    pager_fill_reply(&r.m, pr, page, PAGE_SIZE);
    error_t err = kernel_retry(fill_reply_op, &r);
    if (err && err != ERR_ALREADY_EXISTS)
        printf("memmgr: fill for %s failed: %s\n", p->name, err_name(err));
    if (err)
        page_free(page);
    (void) prot, (void) page_addr, (void) page_len;
    return IDL_DEFER_REPLY;
}

/* p is destroyed: release what memmgr held for it and answer its waiters. */
void proc_exited_hooks(struct proc *p) {
    p->exited = true;
    ns_process_gone(p->pid);
    if (p->pager_cid)
        sys_close(p->pager_cid);
    if (p->client_cid)
        sys_close(p->client_cid);
    p->pager_cid = p->client_cid = 0;
    pages_reclaim();
    for (int i = 0; i < MAX_WAITERS; i++) {
        if (waiters[i].from && waiters[i].pid == p->pid) {
            struct message m;
            memmgr_wait_reply(&m, p->exit_cause, p->exit_code);
            server_reply(waiters[i].from, &m);
            waiters[i].from = 0;
            if (!p->supervised)
                p->used = false; /* reported: forget it */
        }
    }
}

static error_t pager_exited_h(void *ctx, cid_t from, int32_t pid, uint32_t cause, int32_t code,
                              uint64_t ip, uint64_t addr, uint32_t msg) {
    struct proc *p = live(proc_by_pager(from));
    if (!p || p->pid != pid)
        return ERR_NOT_FOUND;
    p->exit_cause = cause;
    p->exit_code = code;
    p->exit_msg = msg;
    kernel_destroy_process(CID_KERNEL, pid);
    proc_exited_hooks(p);
    supervisor_ended(p, ip, addr);
    return OK;
}

const struct pager_server_ops pager_ops = {
    .fill = pager_fill_h,
    .exited = pager_exited_h,
};

/* ---- memmgr interface ---------------------------------------------------- */

static error_t need_ctl(cid_t from) {
    struct proc *caller = proc_by_client(from);
    return (caller && (caller->program->mrights & MRIGHT_CTL)) ? OK : ERR_NOT_PERMITTED;
}

static error_t m_spawn(void *ctx, cid_t from, const char *name, const char *args,
                       int32_t *pid) {
    error_t err = need_ctl(from);
    return err ? err : proc_spawn(name, args, pid);
}

static error_t m_shutdown(void *ctx, cid_t from, uint32_t code) {
    error_t err = need_ctl(from);
    if (err)
        return err;
    printf("memmgr: shutting down (code %u)\n", code);
    return kernel_shutdown(CID_KERNEL, code);
}

static error_t m_args(void *ctx, cid_t from, char *args) {
    struct proc *p = proc_by_client(from);
    if (!p)
        return ERR_NOT_FOUND;
    strcpy_safe(args, p->args, sizeof(p->args));
    return OK;
}

static error_t m_wait(void *ctx, cid_t from, int32_t pid, uint32_t *cause, int32_t *code) {
    error_t err = need_ctl(from);
    if (err)
        return err;
    struct proc *p = proc_by_pid(pid);
    if (!p)
        return ERR_NOT_FOUND;
    if (p->exited) {
        *cause = p->exit_cause;
        *code = p->exit_code;
        if (!p->supervised)
            p->used = false;
        return OK;
    }
    for (int i = 0; i < MAX_WAITERS; i++) {
        if (!waiters[i].from) {
            waiters[i].from = from;
            waiters[i].pid = pid;
            return IDL_DEFER_REPLY;
        }
    }
    return ERR_NO_RESOURCES;
}

/* A live process other than the caller's, for kill, stop and crash. */
static error_t ctl_target(cid_t from, int32_t pid, struct proc **out) {
    error_t err = need_ctl(from);
    if (err)
        return err;
    struct proc *p = live(proc_by_pid(pid));
    if (!p)
        return ERR_NOT_FOUND;
    if (p == proc_by_client(from))
        return ERR_INVALID_ARG; /* use exit */
    *out = p;
    return OK;
}

static error_t kill(struct proc *p, bool stop) {
    printf("memmgr: %s %s (pid %d)\n", stop ? "stopping" : "killing", p->name, p->pid);
    p->exit_cause = EXIT_KILLED;
    p->exit_code = 0;
    p->exit_msg = 0;
    p->stopping = stop;
    kernel_destroy_process(CID_KERNEL, p->pid);
    proc_exited_hooks(p);
    supervisor_ended(p, 0, 0);
    return OK;
}

static error_t m_kill(void *ctx, cid_t from, int32_t pid) {
    struct proc *p;
    error_t err = ctl_target(from, pid, &p);
    return err ? err : kill(p, false);
}

static error_t m_stop(void *ctx, cid_t from, int32_t pid) {
    struct proc *p;
    error_t err = ctl_target(from, pid, &p);
    return err ? err : kill(p, true);
}

/* The kernel ends it as a fault; pager.exited then reports it as usual. */
static error_t m_crash(void *ctx, cid_t from, int32_t pid) {
    struct proc *p;
    error_t err = ctl_target(from, pid, &p);
    if (err)
        return err;
    printf("memmgr: crashing %s (pid %d) on request\n", p->name, p->pid);
    return kernel_inject_fault(CID_KERNEL, pid);
}

static error_t m_alloc_pages(void *ctx, cid_t from, uint64_t len, uint32_t flags,
                             uint64_t *addr, uint64_t *out_len) {
    if (len == 0 || !IS_ALIGNED(len, PAGE_SIZE) || len > 4 * 1024 * 1024 || (flags & ~1u))
        return ERR_INVALID_ARG;
    uint64_t n = len / PAGE_SIZE, va;
    if (flags & 1) {
        if (!(va = pages_alloc_contiguous(n)))
            return ERR_NO_MEMORY;
    } else {
        error_t err = pages_gather(n, &va);
        if (err)
            return err;
    }
    *addr = va;
    *out_len = len;
    return OK;
}

static error_t m_free_pages(void *ctx, cid_t from, uint64_t addr, uint64_t len) {
    return ipc_free_pages(addr, len);
}

static error_t m_process_info(void *ctx, cid_t from, int32_t pid, int32_t *out_pid, char *name,
                              uint32_t *state, uint32_t *restarts, uint32_t *last_cause,
                              int32_t *last_code, uint32_t *last_msg, uint64_t *started_ns) {
    struct proc *best = NULL;
    for (int i = 0; i < MAX_PROCESSES; i++) {
        struct proc *p = &procs[i];
        if ((live(p) || (p->used && p->supervised)) && p->pid >= pid
            && (!best || p->pid < best->pid))
            best = p;
    }
    if (!best)
        return ERR_NOT_FOUND;
    *out_pid = best->pid;
    strcpy_safe(name, best->name, 32);
    *state = best->exited ? (best->supervised ? best->pstate : PSTATE_STOPPED) : PSTATE_RUNNING;
    *restarts = best->restarts;
    *last_cause = best->exit_cause;
    *last_code = best->exit_code;
    *last_msg = best->exit_msg;
    *started_ns = best->started_ns;
    return OK;
}

static error_t m_memory(void *ctx, cid_t from, uint64_t *free_pages, uint64_t *total_pages) {
    *free_pages = pages_free_count();
    *total_pages = pages_total();
    return OK;
}

const struct memmgr_server_ops memmgr_ops = {
    .spawn = m_spawn,
    .wait = m_wait,
    .kill = m_kill,
    .alloc_pages = m_alloc_pages,
    .free_pages = m_free_pages,
    .process_info = m_process_info,
    .memory = m_memory,
    .args = m_args,
    .shutdown = m_shutdown,
    .crash = m_crash,
    .stop = m_stop,
};
