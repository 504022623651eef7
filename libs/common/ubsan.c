/*
 * The UBSan runtime for `make UBSAN=1`: GCC's -fsanitize=undefined calls
 * these handlers; each prints the check, the source location and the
 * values, then calls ubsan_stop(), which the kernel defines as a panic
 * (with a backtrace) and the user runtime as ending the process. This file
 * itself is never built with the sanitizer.
 */
#include "printf.h"
#include "types.h"
#include "ubsan.h"

struct source_location {
    const char *file;
    uint32_t line;
    uint32_t column;
};

struct type_descriptor {
    uint16_t kind; /* 0 integer, 1 float, 0xffff unknown */
    uint16_t info; /* integers: log2(bit width) << 1 | signed */
    char name[];
};

struct type_mismatch_data {
    struct source_location loc;
    const struct type_descriptor *type;
    uint8_t log_alignment;
    uint8_t check_kind;
};

struct overflow_data {
    struct source_location loc;
    const struct type_descriptor *type;
};

struct shift_data {
    struct source_location loc;
    const struct type_descriptor *lhs_type, *rhs_type;
};

struct out_of_bounds_data {
    struct source_location loc;
    const struct type_descriptor *array_type, *index_type;
};

struct location_data {
    struct source_location loc;
};

struct nonnull_arg_data {
    struct source_location loc, attr_loc;
    int arg_index;
};

struct nonnull_return_data {
    struct source_location attr_loc;
};

struct invalid_builtin_data {
    struct source_location loc;
    uint8_t kind;
};

static void report(const struct source_location *loc, const char *fmt, ...) PRINTF(2, 3);

static void report(const struct source_location *loc, const char *fmt, ...) {
    char msg[192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ubsan_print("UBSAN: %s at %s:%u:%u\n", msg, loc->file, loc->line, loc->column);
    ubsan_stop();
}

/* An integer operand: inline when it fits in a pointer, else by address. */
static void format_value(char *buf, size_t size, const struct type_descriptor *t, uintptr_t v) {
    if (t->kind != 0) {
        snprintf(buf, size, "%#lx", (unsigned long) v);
        return;
    }
    unsigned bits = 1u << (t->info >> 1);
    bool is_signed = t->info & 1;
    uint64_t raw = bits <= 64 ? (uint64_t) v : *(const uint64_t *) v;
    if (bits < 64)
        raw &= (1ULL << bits) - 1;
    if (is_signed && bits < 64 && (raw >> (bits - 1)) & 1)
        raw |= ~((1ULL << bits) - 1);
    if (is_signed)
        snprintf(buf, size, "%lld", (long long) raw);
    else
        snprintf(buf, size, "%llu", (unsigned long long) raw);
}

static void report_binary(const struct overflow_data *d, const char *what, uintptr_t lhs,
                          uintptr_t rhs, char op) {
    char a[32], b[32];
    format_value(a, sizeof(a), d->type, lhs);
    format_value(b, sizeof(b), d->type, rhs);
    report(&d->loc, "%s: %s %c %s in type %s", what, a, op, b, d->type->name);
}

static const char *const mismatch_kinds[] = {
    "load of", "store to", "reference binding to", "member access within",
    "member call on", "constructor call on", "downcast of", "downcast of",
    "upcast of", "cast to virtual base of", "nonnull binding to", "dynamic operation on",
};

void __ubsan_handle_type_mismatch_v1(struct type_mismatch_data *d, uintptr_t ptr) {
    const char *kind = d->check_kind < ARRAY_SIZE(mismatch_kinds)
                           ? mismatch_kinds[d->check_kind] : "access to";
    uintptr_t align = (uintptr_t) 1 << d->log_alignment;
    if (!ptr)
        report(&d->loc, "%s null pointer of type %s", kind, d->type->name);
    else if (ptr & (align - 1))
        report(&d->loc, "%s misaligned address %#lx for type %s (needs %lu-byte alignment)",
               kind, (unsigned long) ptr, d->type->name, (unsigned long) align);
    else
        report(&d->loc, "%s address %#lx with too little space for type %s", kind,
               (unsigned long) ptr, d->type->name);
}

void __ubsan_handle_add_overflow(struct overflow_data *d, uintptr_t a, uintptr_t b) {
    report_binary(d, "signed integer overflow", a, b, '+');
}

void __ubsan_handle_sub_overflow(struct overflow_data *d, uintptr_t a, uintptr_t b) {
    report_binary(d, "signed integer overflow", a, b, '-');
}

void __ubsan_handle_mul_overflow(struct overflow_data *d, uintptr_t a, uintptr_t b) {
    report_binary(d, "signed integer overflow", a, b, '*');
}

void __ubsan_handle_divrem_overflow(struct overflow_data *d, uintptr_t a, uintptr_t b) {
    report_binary(d, "division overflow or by zero", a, b, '/');
}

void __ubsan_handle_negate_overflow(struct overflow_data *d, uintptr_t old) {
    char a[32];
    format_value(a, sizeof(a), d->type, old);
    report(&d->loc, "negation of %s cannot be represented in type %s", a, d->type->name);
}

void __ubsan_handle_shift_out_of_bounds(struct shift_data *d, uintptr_t lhs, uintptr_t rhs) {
    char a[32], b[32];
    format_value(a, sizeof(a), d->lhs_type, lhs);
    format_value(b, sizeof(b), d->rhs_type, rhs);
    report(&d->loc, "shift out of bounds: %s << %s (types %s, %s)", a, b, d->lhs_type->name,
           d->rhs_type->name);
}

void __ubsan_handle_out_of_bounds(struct out_of_bounds_data *d, uintptr_t index) {
    char i[32];
    format_value(i, sizeof(i), d->index_type, index);
    report(&d->loc, "index %s out of bounds for type %s", i, d->array_type->name);
}

void __ubsan_handle_builtin_unreachable(struct location_data *d) {
    report(&d->loc, "execution reached __builtin_unreachable()");
}

void __ubsan_handle_vla_bound_not_positive(struct overflow_data *d, uintptr_t bound) {
    char b[32];
    format_value(b, sizeof(b), d->type, bound);
    report(&d->loc, "variable-length array bound %s is not positive", b);
}

void __ubsan_handle_load_invalid_value(struct overflow_data *d, uintptr_t v) {
    char a[32];
    format_value(a, sizeof(a), d->type, v);
    report(&d->loc, "load of value %s, which is not valid for type %s", a, d->type->name);
}

void __ubsan_handle_nonnull_arg(struct nonnull_arg_data *d) {
    report(&d->loc, "null pointer passed as argument %d, declared nonnull", d->arg_index);
}

void __ubsan_handle_nonnull_return_v1(struct nonnull_return_data *d, struct source_location *loc) {
    (void) d;
    report(loc, "null pointer returned from a function declared never to return null");
}

void __ubsan_handle_pointer_overflow(struct location_data *d, uintptr_t base, uintptr_t result) {
    report(&d->loc, "pointer arithmetic overflowed: %#lx -> %#lx", (unsigned long) base,
           (unsigned long) result);
}

void __ubsan_handle_invalid_builtin(struct invalid_builtin_data *d) {
    report(&d->loc, "passing zero to %s, which is not a valid argument",
           d->kind ? "clz()" : "ctz()");
}
