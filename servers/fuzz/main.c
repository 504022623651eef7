/*
 * A seeded, bounded system-call fuzzer. Argument string: "SEED ITERATIONS".
 * Each step makes one random system call — random cids, flags, notification
 * bits, message headers, inline lengths, page-payload addresses (kernel,
 * unmapped, unaligned, huge, its own scratch pages) and channel payloads —
 * on its own channels, to the kernel server and to memmgr. It only avoids
 * what would legitimately block it forever or end it (kernel.exit, killing
 * its own thread, starting threads at random addresses, unmapping its own
 * stack; memmgr's deferred ns.lookup / memmgr.wait), never gives away its
 * own stack or image, and prints nothing random (kernel.print). At the end it
 * closes everything and prints how many calls failed and how.
 */
#include <user/user.h>
#include <idl.h>

#define MAX_OWN 32

static uint64_t rng_state;
static cid_t own[MAX_OWN];
static int num_own;
static uint64_t scratch; /* heap pages it may send away */
static uint64_t calls, errors[32];

static uint64_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static uint64_t pick(uint64_t n) {
    return n ? rnd() % n : 0;
}

static cid_t random_cid(void) {
    switch (pick(4)) {
    case 0: return num_own ? own[pick(num_own)] : 0;
    case 1: return (cid_t) pick(300) - 20;
    case 2: return (cid_t) rnd();
    default: return num_own ? own[pick(num_own)] : CID_KERNEL;
    }
}

static uint64_t random_page_addr(void) {
    static const uint64_t bad[] = {
        0, 1, PAGE_SIZE, 0xffff800000000000ULL, 0xffffffff80000000ULL, 0x00007ffffffff000ULL,
        0x0000800000000000ULL, USER_THREAD_INFO_BASE, USER_PHYS_WINDOW, USER_INITFS_BASE,
        0x0000200000000000ULL,
    };
    switch (pick(4)) {
    case 0: return bad[pick(ARRAY_SIZE(bad))];
    case 1: return scratch + pick(16) * PAGE_SIZE + (pick(4) == 0 ? pick(PAGE_SIZE) : 0);
    case 2: return rnd();
    default: return ALIGN_DOWN(rnd(), PAGE_SIZE);
    }
}

/* A random message in the IPC buffer, of type `type`. */
static void random_message(uint32_t type) {
    struct message *m = ipc_buffer();
    uint64_t *words = (uint64_t *) m;
    for (size_t i = 0; i < MSG_SIZE / 8; i++)
        words[i] = rnd();
    uint32_t len = pick(3) == 0 ? pick(MSG_LEN_MASK + 1) : pick(MSG_INLINE_MAX + 1);
    uint32_t flags = 0;
    if (pick(4) == 0)
        flags |= MSG_PAGE_BIT;
    if (pick(4) == 0)
        flags |= MSG_CHANNEL_BIT;
    m->header = msg_header(type, len, flags);
    m->page_addr = random_page_addr();
    m->page_len = pick(3) == 0 ? rnd() : pick(8) * PAGE_SIZE;
    m->channel = random_cid();
    /* Never give away the stack or the program image: it is still in use. */
    uint64_t end = m->page_addr + (m->page_len & 0xffffffffULL);
    if (end >= USER_STACK_TOP - USER_STACK_SIZE - PAGE_SIZE && m->page_addr < USER_STACK_TOP)
        m->header &= ~MSG_PAGE_BIT;
    if (m->page_addr < USER_HEAP_BASE && end > USER_IMAGE_BASE)
        m->header &= ~MSG_PAGE_BIT;
    if (m->channel == CID_KERNEL || m->channel == CID_MEMMGR)
        m->header &= ~MSG_CHANNEL_BIT;
}

static void count(error_t err) {
    calls++;
    if (err < 0 && -err < (int) ARRAY_SIZE(errors))
        errors[-err]++;
}

static void fuzz_own_channels(void) {
    switch (pick(7)) {
    case 0: {
        cid_t c = sys_open();
        count(c < 0 ? c : OK);
        if (c > 0 && num_own < MAX_OWN)
            own[num_own++] = c;
        else if (c > 0)
            sys_close(c);
        break;
    }
    case 1: {
        if (!num_own)
            break;
        int i = pick(num_own);
        count(sys_close(own[i]));
        own[i] = own[--num_own];
        break;
    }
    case 2: count(sys_link(random_cid(), random_cid())); break;
    case 3: count(sys_transfer(random_cid(), pick(5) == 0 ? 0 : random_cid())); break;
    case 4: count(sys_notify(random_cid(), (notification_t) rnd())); break;
    default: {
        cid_t c = random_cid();
        if (c == CID_KERNEL || c == CID_MEMMGR)
            break;
        random_message(pick(2) ? (uint32_t) rnd() & 0xffff : TEST_ECHO_MSG);
        unsigned flags = ((unsigned) rnd() & IPC_FLAGS_ALL) | IPC_NOBLOCK;
        if (pick(8) == 0)
            flags = (unsigned) rnd();   /* garbage flags too */
        if ((flags & IPC_CALL) == IPC_CALL && !(flags & ~IPC_FLAGS_ALL))
            flags &= ~IPC_RECV;         /* a call's receive phase would wait */
        count(sys_ipc(c, flags | IPC_NOBLOCK));
        break;
    }
    }
}

static void fuzz_kernel(void) {
    uint32_t type;
    do {
        type = pick(3) ? MSG_TYPE(KERNEL_IFACE_ID, 1 + pick(30)) : (uint32_t) rnd() & 0xffff;
    } while (type == KERNEL_EXIT_MSG || type == KERNEL_KILL_THREAD_MSG
             || type == KERNEL_SPAWN_THREAD_MSG || type == KERNEL_UNMAP_MSG
             || type == KERNEL_PRINT_MSG);
    random_message(type);
    count(sys_ipc(CID_KERNEL, IPC_CALL));
    struct message *m = ipc_buffer();
    ipc_received(m);
    if (m->header & MSG_CHANNEL_BIT)
        sys_close(m->channel);
}

/* memmgr answers every call of these interfaces except the deferred ones. */
static void fuzz_memmgr(void) {
    uint32_t type;
    do {
        uint32_t iface = pick(2) ? NS_IFACE_ID : MEMMGR_IFACE_ID;
        type = MSG_TYPE(iface, 1 + pick(10));
    } while (type == NS_LOOKUP_MSG || type == MEMMGR_WAIT_MSG);
    random_message(type);
    count(sys_ipc(CID_MEMMGR, IPC_CALL));
    struct message *m = ipc_buffer();
    ipc_received(m);
    if (m->header & MSG_CHANNEL_BIT)
        sys_close(m->channel);
    if (m->header & MSG_PAGE_BIT)
        ipc_free_pages(m->page_addr, m->page_len);
}

int main(void) {
    program_name = "fuzz";
    unsigned long seed = 1, iterations = 5000;
    char *end;
    const char *args = program_args();
    seed = strtoul_(args, &end, 0);
    if (*end == ' ')
        iterations = strtoul_(end + 1, &end, 0);
    rng_state = seed * 2654435761ULL + 1;
    scratch = ALIGN_UP((uint64_t) malloc(20 * PAGE_SIZE), PAGE_SIZE);
    memset((void *) scratch, 0xab, 16 * PAGE_SIZE);

    for (unsigned long i = 0; i < iterations; i++) {
        switch (pick(8)) {
        case 0: fuzz_kernel(); break;
        case 1: fuzz_memmgr(); break;
        default: fuzz_own_channels(); break;
        }
    }
    for (int i = 0; i < num_own; i++)
        sys_close(own[i]);
    printf("fuzz: seed %lu: %lu calls; errors:", seed, calls);
    for (size_t e = 1; e < ARRAY_SIZE(errors); e++)
        if (errors[e])
            printf(" %s=%lu", err_name(-(int) e), errors[e]);
    printf("\n");
    return 0;
}
