/*
 * The supervisor: what happens after a process ends. memmgr learns of
 * every end (pager.exited for exits and faults, its own kill), has
 * already taken back the pages and closed the channels (proc.c), and here
 * logs the cause and, by the program's restart policy in the manifest,
 * starts the program again after a backoff. A program that ends too often
 * in a row is given up (PSTATE_FAILED) until someone starts it again.
 *
 * A supervised program has one slot in the process table for its whole
 * life: each new instance gets a new pid in the same slot, which keeps the
 * restart count and the last cause for `ps` (memmgr.process_info).
 * See docs/reliability.md.
 */
#include "memmgr.h"

#define BACKOFF_FIRST_MS 50      /* the first restart after a stable run */
#define BACKOFF_MAX_MS   5000    /* each further end in a row doubles it up to this */
#define LOOP_WINDOW_NS   (30ULL * 1000000000) /* a run this long resets the count */
#define LOOP_LIMIT       5       /* ends within the window before giving up */

static cid_t timer = -1;

void supervisor_init(struct server *s) {
    error_t err = kernel_timer_create(CID_KERNEL, &timer);
    if (!err)
        err = server_watch(s, timer);
    if (err) {
        printf("memmgr: no timer for the supervisor (%s): servers are not restarted\n",
               err_name(err));
        timer = -1;
    }
}

static const char *exception_name(int vector) {
    static const char *const names[] = {
        [0] = "divide error", [3] = "breakpoint", [6] = "invalid opcode",
        [12] = "stack fault", [13] = "general protection", [14] = "page fault",
        [17] = "alignment check", [19] = "SIMD error",
    };
    return vector >= 0 && vector < (int) ARRAY_SIZE(names) && names[vector] ? names[vector]
                                                                           : "exception";
}

/* "exited with code 3", "page fault at 0x0 refused by the pager", ... */
static void describe_end(const struct proc *p, uint64_t ip, uint64_t addr, char *buf,
                         size_t size) {
    switch (p->exit_cause) {
    case EXIT_NORMAL:
        snprintf(buf, size, "exited with code %d%s", p->exit_code,
                 p->exit_code == EXIT_CODE_UBSAN           ? " (undefined behaviour)"
                 : p->exit_code == EXIT_CODE_STACK_SMASHED ? " (stack smashed)"
                                                           : "");
        break;
    case EXIT_FAULT:
        snprintf(buf, size, "crashed: %s (vector %d) at ip %p", exception_name(p->exit_code),
                 p->exit_code, (void *) ip);
        break;
    case EXIT_PAGER:
        snprintf(buf, size, "crashed: page fault at %p not served (%s), ip %p", (void *) addr,
                 err_name(p->exit_code), (void *) ip);
        break;
    case EXIT_INJECTED:
        snprintf(buf, size, "crashed: injected fault at ip %p", (void *) ip);
        break;
    case EXIT_KILLED:
        snprintf(buf, size, "was killed");
        break;
    default:
        snprintf(buf, size, "ended (cause %u, code %d)", p->exit_cause, p->exit_code);
        break;
    }
}

static void arm_timer(void) {
    uint64_t next = 0, now = clock_ns();
    for (int i = 0; i < MAX_PROCESSES; i++) {
        const struct proc *p = &procs[i];
        if (p->used && p->supervised && p->pstate == PSTATE_WAITING
            && (!next || p->restart_at_ns < next))
            next = p->restart_at_ns;
    }
    if (next && timer >= 0)
        kernel_timer_set(CID_KERNEL, timer, next > now ? next - now : 1, 0);
}

/* How long p waits before its next start, or -1 to give up on it. */
static int64_t backoff_ms(struct proc *p, uint64_t now) {
    if (now - p->loop_start_ns > LOOP_WINDOW_NS || !p->recent_ends) {
        p->loop_start_ns = now;
        p->recent_ends = 0;
    }
    if (++p->recent_ends > LOOP_LIMIT)
        return -1;
    uint64_t ms = (uint64_t) BACKOFF_FIRST_MS << (p->recent_ends - 1);
    return (int64_t) MIN(ms, BACKOFF_MAX_MS);
}

/* p has ended (its resources are back): log why and decide what next. */
void supervisor_ended(struct proc *p, uint64_t ip, uint64_t addr) {
    char what[112], msg[48] = "";
    describe_end(p, ip, addr, what, sizeof(what));
    if (p->exit_msg) {
        const char *name = idl_msg_name(p->exit_msg);
        if (name)
            snprintf(msg, sizeof(msg), " while handling %s", name);
        else
            snprintf(msg, sizeof(msg), " while handling message %#x", p->exit_msg);
    }
    bool clean = p->exit_cause == EXIT_NORMAL && p->exit_code == 0;
    if (!p->supervised) {
        if (!clean)
            printf("memmgr: %s (pid %d) %s%s\n", p->name, p->pid, what, msg);
        return;
    }
    uint64_t now = clock_ns();
    int64_t ms = 0;
    const char *next;
    if (p->stopping) {
        p->pstate = PSTATE_STOPPED;
        next = "stopped";
    } else if (p->program->restart == RESTART_ON_FAILURE && clean) {
        p->pstate = PSTATE_STOPPED;
        next = "not restarted (policy on-failure)";
    } else if ((ms = backoff_ms(p, now)) < 0) {
        p->pstate = PSTATE_FAILED;
        next = "crash loop, given up (start it again by hand)";
    } else {
        p->pstate = PSTATE_WAITING;
        p->restart_at_ns = now + (uint64_t) ms * 1000000;
        next = "restarting";
    }
    if (p->pstate == PSTATE_WAITING)
        printf("memmgr: %s (pid %d) %s%s; restarting in %ld ms (%u so far)\n", p->name, p->pid,
               what, msg, ms, p->restarts);
    else
        printf("memmgr: %s (pid %d) %s%s; %s\n", p->name, p->pid, what, msg, next);
    arm_timer();
}

/* Start every program whose backoff has run out. */
void supervisor_timer(cid_t from) {
    if (from != timer)
        return;
    uint64_t now = clock_ns();
    for (int i = 0; i < MAX_PROCESSES; i++) {
        struct proc *p = &procs[i];
        if (!p->used || !p->supervised || p->pstate != PSTATE_WAITING || p->restart_at_ns > now)
            continue;
        int32_t old = p->pid;
        error_t err = proc_start(p);
        if (err) {
            printf("memmgr: restarting %s failed: %s\n", p->name, err_name(err));
            int64_t ms = backoff_ms(p, now);
            p->pstate = ms < 0 ? PSTATE_FAILED : PSTATE_WAITING;
            p->restart_at_ns = now + (uint64_t) MAX(ms, 0) * 1000000;
            continue;
        }
        p->restarts++;
        printf("memmgr: restarted %s (pid %d, was %d; restart %u)\n", p->name, p->pid, old,
               p->restarts);
    }
    arm_timer();
}

/* The slot of prog's one supervised instance, if it has one. */
struct proc *supervisor_instance(const struct program *prog) {
    for (int i = 0; i < MAX_PROCESSES; i++)
        if (procs[i].used && procs[i].supervised && procs[i].program == prog)
            return &procs[i];
    return NULL;
}
