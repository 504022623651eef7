/*
 * The boot manifest (servers/boot.manifest, packed into the initfs as
 * "manifest"): one program per line with when it starts and exactly which
 * rights it gets. Nothing that is not written here is granted.
 *
 *   name  boot|manual  [restart=always|on-failure|never]
 *         [io=BASE:LEN,...] [irq=N,...] [mmio=BASE:LEN,...] [dma] [ctl]
 *
 * The restart policy is on-failure for boot programs and never for manual
 * ones unless the line says otherwise (supervisor.c).
 */
#include "memmgr.h"

struct program programs[MAX_PROGRAMS];
int num_programs;

static bool parse_num(const char **s, uint64_t *out) {
    char *end;
    *out = strtoul_(*s, &end, 0);
    if (end == *s)
        return false;
    *s = end;
    return true;
}

/* "BASE:LEN,BASE:LEN" into up to 4 pairs. */
static bool parse_ranges(const char *s, uint64_t *base, uint64_t *len) {
    for (int i = 0; *s; i++) {
        if (i == 4 || !parse_num(&s, &base[i]) || *s++ != ':' || !parse_num(&s, &len[i]))
            return false;
        if (*s == ',')
            s++;
        else if (*s)
            return false;
    }
    return true;
}

static bool parse_token(struct program *p, const char *tok) {
    uint64_t base[4] = {0}, len[4] = {0};
    if (!strcmp(tok, "restart=always")) {
        p->restart = RESTART_ALWAYS;
    } else if (!strcmp(tok, "restart=on-failure")) {
        p->restart = RESTART_ON_FAILURE;
    } else if (!strcmp(tok, "restart=never")) {
        p->restart = RESTART_NEVER;
    } else if (!strcmp(tok, "dma")) {
        p->krights |= KRIGHT_DMA;
    } else if (!strcmp(tok, "ctl")) {
        p->mrights |= MRIGHT_CTL;
    } else if (!strncmp(tok, "io=", 3)) {
        if (!parse_ranges(tok + 3, base, len))
            return false;
        for (int i = 0; i < 4; i++) {
            if (base[i] + len[i] > 0x10000)
                return false;
            p->io_base[i] = base[i];
            p->io_len[i] = len[i];
        }
        p->krights |= KRIGHT_IO;
    } else if (!strncmp(tok, "mmio=", 5)) {
        if (!parse_ranges(tok + 5, p->mmio_base, p->mmio_len))
            return false;
        p->krights |= KRIGHT_MMIO;
    } else if (!strncmp(tok, "irq=", 4)) {
        const char *s = tok + 4;
        while (*s) {
            uint64_t irq;
            if (!parse_num(&s, &irq) || irq >= 16 || (*s && *s++ != ','))
                return false;
            p->irq_mask |= 1u << irq;
        }
        p->krights |= KRIGHT_IRQ;
    } else {
        return false;
    }
    return true;
}

static bool parse_line(char *line, struct program *p) {
    char *tok[12];
    int n = 0;
    for (char *s = line; *s && n < 12;) {
        while (*s == ' ' || *s == '\t')
            *s++ = '\0';
        if (!*s)
            break;
        tok[n++] = s;
        while (*s && *s != ' ' && *s != '\t')
            s++;
    }
    if (n < 2 || strlen(tok[0]) >= sizeof(p->name))
        return false;
    memset(p, 0, sizeof(*p));
    strcpy_safe(p->name, tok[0], sizeof(p->name));
    if (!strcmp(tok[1], "boot"))
        p->boot = true;
    else if (strcmp(tok[1], "manual"))
        return false;
    p->krights = KRIGHT_CONSOLE;
    p->restart = p->boot ? RESTART_ON_FAILURE : RESTART_NEVER;
    for (int i = 2; i < n; i++)
        if (!parse_token(p, tok[i]))
            return false;
    return true;
}

int manifest_load(const char *text, size_t len, struct program *out, int max) {
    char line[160];
    int count = 0, lineno = 0;
    for (size_t pos = 0; pos < len && count < max;) {
        size_t n = 0;
        lineno++;
        while (pos < len && text[pos] != '\n') {
            if (n < sizeof(line) - 1)
                line[n++] = text[pos];
            pos++;
        }
        pos++;
        line[n] = '\0';
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        bool blank = true;
        for (char *c = line; *c; c++)
            blank &= (*c == ' ' || *c == '\t');
        if (blank)
            continue;
        if (parse_line(line, &out[count]))
            count++;
        else
            printf("memmgr: manifest line %d is malformed: ignored\n", lineno);
    }
    return count;
}

const struct program *program_find(const char *name) {
    for (int i = 0; i < num_programs; i++)
        if (!strcmp(programs[i].name, name))
            return &programs[i];
    return NULL;
}
