/* Names and descriptions of the error enum (see error.h). */
#include "error.h"

struct err_entry {
    const char *name;
    const char *desc;
};

static const struct err_entry err_table[] = {
#define ERROR_ENTRY(name, num, desc) [num] = {#name, desc},
    ERROR_LIST(ERROR_ENTRY)
#undef ERROR_ENTRY
};

static const struct err_entry *err_lookup(int err) {
    if (err >= 0 || err <= -(int) ARRAY_SIZE(err_table) || !err_table[-err].name)
        return NULL;
    return &err_table[-err];
}

const char *err_name(int err) {
    if (err >= 0)
        return "OK";
    const struct err_entry *e = err_lookup(err);
    return e ? e->name : "ERR_UNKNOWN";
}

const char *err_desc(int err) {
    if (err >= 0)
        return "success";
    const struct err_entry *e = err_lookup(err);
    return e ? e->desc : "unknown error";
}
