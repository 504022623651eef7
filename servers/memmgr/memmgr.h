/*
 * memmgr: the first user process. It owns all free memory (mapped at
 * USER_PHYS_WINDOW + physical address), loads servers from the initfs by
 * the boot manifest, is the pager of every process, runs the name service
 * and learns of every process's death (pager.exited).
 *
 * memmgr has no pager of its own: it uses no heap, only static tables.
 */
#pragma once

#include <user/server.h>
#include <idl.h>

#define MAX_PROGRAMS  32
#define MAX_PROCESSES 64
#define MAX_SEGMENTS  8

/* Manifest rights beyond the kernel's (manifest.c). */
#define MRIGHT_CTL (1u << 0) /* memmgr.spawn / wait / kill / crash / stop */

/* Restart policies of the manifest (restart=...). */
enum restart_policy {
    RESTART_NEVER,      /* manual programs by default */
    RESTART_ON_FAILURE, /* boot programs by default: any end but exit code 0 */
    RESTART_ALWAYS,
};

/* One line of the boot manifest. */
struct program {
    char name[32];
    bool boot;                 /* start at boot */
    uint32_t krights;          /* KRIGHT_* */
    uint32_t irq_mask;
    uint16_t io_base[4], io_len[4];
    uint64_t mmio_base[4], mmio_len[4];
    uint32_t mrights;          /* MRIGHT_* */
    enum restart_policy restart;
};

struct segment {
    uint64_t vaddr, memsz, filesz, offset;
    uint32_t prot;
};

struct proc {
    bool used;
    int32_t pid;
    char name[32];
    const struct program *program;
    char args[128];
    const uint8_t *image;      /* the ELF in the initfs */
    uint64_t image_size;
    struct segment segs[MAX_SEGMENTS];
    int num_segs;
    cid_t pager_cid;           /* our end of its pager channel */
    cid_t client_cid;          /* our end of its CID_MEMMGR channel */
    uint64_t started_ns;
    bool exited;
    uint32_t exit_cause;       /* EXIT_*, EXIT_NONE while it never ended */
    int32_t exit_code;
    uint32_t exit_msg;         /* the request it was handling then (0: none) */
    /* The supervisor's record (supervisor.c); it outlives each instance. */
    bool supervised;           /* this slot is the program's one instance */
    bool stopping;             /* memmgr.stop: do not restart */
    uint32_t pstate;           /* PSTATE_* */
    uint32_t restarts;
    uint32_t recent_ends;      /* ends since loop_start */
    uint64_t loop_start_ns;
    uint64_t restart_at_ns;
};

/* pages.c */
void pages_init(const struct boot_info *bi);
uint64_t page_alloc(void);                 /* a zeroed page (its address here) */
uint64_t pages_alloc_contiguous(uint64_t n);
void page_free(uint64_t va);
uint64_t pages_free_count(void);
uint64_t pages_total(void);
void pages_reclaim(void);
error_t kernel_retry(error_t (*op)(void *), void *arg);
error_t pages_donate(unsigned n);
error_t pages_gather(uint64_t n, uint64_t *va);

/* manifest.c */
int manifest_load(const char *text, size_t len, struct program *out, int max);
const struct program *program_find(const char *name);
extern struct program programs[MAX_PROGRAMS];
extern int num_programs;

/* initfs */
const uint8_t *initfs_lookup(const char *name, uint64_t *size);

/* proc.c */
extern struct proc procs[MAX_PROCESSES];
error_t proc_spawn(const char *name, const char *args, int32_t *pid);
struct proc *proc_by_pid(int32_t pid);
struct proc *proc_by_client(cid_t from);
struct proc *proc_by_pager(cid_t from);
extern const struct pager_server_ops pager_ops;
extern const struct memmgr_server_ops memmgr_ops;
void proc_exited_hooks(struct proc *p);
void proc_channel_closed(cid_t from);
extern cid_t memmgr_main;

/* supervisor.c */
void supervisor_init(struct server *s);
void supervisor_ended(struct proc *p, uint64_t ip, uint64_t addr);
void supervisor_timer(cid_t from);
struct proc *supervisor_instance(const struct program *prog);
error_t proc_start(struct proc *p);

/* ns.c */
extern const struct ns_server_ops ns_ops;
void ns_process_gone(int32_t pid);
void ns_channel_closed(cid_t from);
