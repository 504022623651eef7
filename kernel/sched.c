/*
 * The scheduler: one run queue, round robin with a time slice of
 * TIME_SLICE_TICKS timer ticks. A blocked thread is in no queue but the
 * wait list of what it waits for; thread_wake puts it back. The IPC
 * fastpath bypasses the queue with sched_switch_direct.
 */
#include "process.h"
#include "trace.h"

struct thread *current;
bool need_resched;
uint64_t ticks;

static struct list_head runqueue = {&runqueue, &runqueue};
static struct thread idle_thread;
static unsigned slice_left = TIME_SLICE_TICKS;

static void switch_to(struct thread *next) {
    struct thread *prev = current;
    if (next == prev)
        return;
    kstack_canary_check(prev);
    current = next;
    slice_left = TIME_SLICE_TICKS;
    arch_io_switch(prev->proc, next->proc);
    arch_switch_to(&prev->arch, &next->arch);
}

static struct thread *pick_next(void) {
    struct list_head *n = list_pop_front(&runqueue);
    return n ? container_of(n, struct thread, run_node) : &idle_thread;
}

void thread_wake(struct thread *t, error_t result) {
    t->wake_result = result;
    if (t->state == THREAD_RUNNABLE)
        return;
    t->state = THREAD_RUNNABLE;
    list_push_back(&runqueue, &t->run_node);
}

/* current has set its own (blocked or dead) state: run someone else. */
void sched_block(void) {
    switch_to(pick_next());
}

void sched_yield(void) {
    need_resched = false;
    if (current != &idle_thread && current->state == THREAD_RUNNABLE)
        list_push_back(&runqueue, &current->run_node);
    switch_to(pick_next());
}

/* The fastpath: prev is already queued as a receiver; next runs now, in
 * prev's time slice. */
void sched_fastpath_switch(struct thread *prev, struct thread *next) {
    kstack_canary_check(prev);
    next->state = THREAD_RUNNABLE;
    current = next;
    arch_fastpath_switch(&prev->arch, &next->arch);
}

void sched_tick(void) {
    ticks++;
    timer_tick(clock_now_ns());
    kserver_pool_low_tick();
    if (--slice_left == 0)
        need_resched = true;
}

void sched_remove(struct thread *t) {
    if (t->state == THREAD_RUNNABLE && t != current)
        list_remove(&t->run_node);
}

static void idle_loop(void) {
    for (;;) {
        if (trace_enabled)
            trace_flush();
        while (list_is_empty(&runqueue))
            cpu_halt();
        sched_yield();
    }
}

void sched_init(void) {
    static uint8_t idle_stack[4096] ALIGNED(16);
    idle_thread.tid = 0;
    idle_thread.index = -1;
    idle_thread.state = THREAD_RUNNABLE;
    idle_thread.proc = &kernel_process;
    arch_kthread_init(&idle_thread.arch, (uint64_t) idle_stack + sizeof(idle_stack), idle_loop);
}

void sched_start(void) {
    /* Start from a throwaway context: the boot stack is never resumed. */
    static struct thread boot;
    boot.index = -1;
    boot.proc = &kernel_process;
    boot.arch.cr3 = read_cr3();
    current = &boot;
    switch_to(pick_next());
    panic("sched_start: returned to the boot context");
}
