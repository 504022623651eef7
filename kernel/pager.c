/*
 * Page faults as messages. A user page fault queues the thread on its
 * process's fault queue; the first one is sent to the pager as pager.fill
 * through the process's pager channel. The pager's reply carries a page
 * payload, which is mapped at the faulting address, and the thread runs
 * again. One fill per process is outstanding at a time.
 */
#include "process.h"
#include "memory.h"
#include "trace.h"
#include <idl.h>

static struct thread *fault_head(struct process *p) {
    if (list_is_empty(&p->fault_queue))
        return NULL;
    return container_of(p->fault_queue.next, struct thread, wait_node);
}

static void send_next_fill(struct process *p) {
    struct thread *t = fault_head(p);
    if (!t || p->fill_sent || !p->pager || p->state != PROC_ALIVE)
        return;
    pager_fill_build(&p->pager_msg, p->pid, t->tid, t->fault_addr, t->fault_code);
    p->fill_sent = true;
    if (ipc_kernel_send(p->pager, &p->pager_msg) != OK)
        process_exit(p, EXIT_PAGER, 14, t->fault_ip, t->fault_addr);
}

void pager_fault(struct thread *t, vaddr_t addr, uint32_t code, uint64_t ip) {
    struct process *p = t->proc;
    p->faults++;
    if (!p->pager || addr >= USER_END || (code & FAULT_PRESENT)) {
        process_exit(p, EXIT_FAULT, 14, ip, addr);
        return;
    }
    t->fault_addr = addr;
    t->fault_code = code;
    t->fault_ip = ip;
    t->state = THREAD_PAGER;
    list_push_back(&p->fault_queue, &t->wait_node);
    send_next_fill(p);
    sched_block();
}

/* The kernel message in s was received by the pager, or refused. */
void pager_sent(struct sender *s, error_t err) {
    struct channel *kch = container_of(s, struct channel, ksend);
    list_init(&s->node);
    struct process *p = kch->pager_of;
    if (err && p && p->state == PROC_ALIVE) {
        struct thread *t = fault_head(p);
        process_exit(p, EXIT_PAGER, err, t ? t->fault_ip : 0, t ? t->fault_addr : 0);
    }
}

/* The pager answers the outstanding pager.fill of kch's process. */
error_t pager_reply(struct thread *cur, struct channel *kch) {
    struct process *p = kch->pager_of;
    struct message *m = &cur->info->ipc;
    struct thread *t = p ? fault_head(p) : NULL;
    if (!t || !p->fill_sent || p->state != PROC_ALIVE)
        return ERR_UNEXPECTED;
    if (msg_type(m) != PAGER_FILL_REPLY_MSG)
        return ERR_BAD_MESSAGE;
    trace_message(TRACE_RECV, cur->proc, &kernel_process, kch, m);
    vaddr_t page = ALIGN_DOWN(t->fault_addr, PAGE_SIZE);
    if (msg_is_error(m)) {
        process_exit(p, EXIT_PAGER, msg_error(m), t->fault_ip, t->fault_addr);
        return OK;
    }
    const struct pager_fill_rep *rep = (const void *) m->data;
    if (msg_len(m) != sizeof(*rep) || !(m->header & MSG_PAGE_BIT) || m->page_len != PAGE_SIZE)
        return ERR_BAD_MESSAGE;
    error_t err = vm_check_movable(&cur->proc->vm, m->page_addr, PAGE_SIZE);
    if (err)
        return err;
    bool mapped = vm_lookup(&p->vm, page) != NULL; /* e.g. kernel.map raced */
    if (!mapped && (err = vm_check_free(&p->vm, page, PAGE_SIZE)))
        return err; /* ERR_NO_MEMORY: the pager donates pages and retries */

    if (!mapped)
        vm_move(&cur->proc->vm, m->page_addr, &p->vm, page, PAGE_SIZE, prot_to_pte(rep->prot));
    list_remove(&t->wait_node);
    p->fill_sent = false;
    thread_wake(t, OK);
    send_next_fill(p);
    return mapped ? ERR_ALREADY_EXISTS : OK;
}

/* A faulting thread is being destroyed. */
void pager_thread_gone(struct thread *t) {
    struct process *p = t->proc;
    bool was_head = fault_head(p) == t;
    list_remove(&t->wait_node);
    if (was_head && p->fill_sent) {
        p->fill_sent = false;
        if (p->pager)
            ipc_cancel_kernel_send(p->pager);
        send_next_fill(p);
    }
}

void pager_cancel(struct process *p) {
    if (p->pager)
        ipc_cancel_kernel_send(p->pager);
    p->fill_sent = false;
}

void pager_report_exit(struct process *p, uint32_t cause, int32_t code, uint64_t ip,
                       uint64_t addr) {
    pager_cancel(p);
    pager_exited_build(&p->pager_msg, p->pid, cause, code, ip, addr, process_serving(p));
    if (p->pager)
        ipc_kernel_send(p->pager, &p->pager_msg);
}
