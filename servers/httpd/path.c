/*
 * From request-target to file-system path. The target's form is checked
 * and its query dropped, then it is %-decoded, and only then are its dot
 * segments resolved: an escaped dot or slash ("%2e%2e", "..%2f") is a dot
 * or a slash by the time ".." is looked for, so it cannot slip past.
 * A ".." that would leave the root is a 400, never clamped to the root.
 */
#include "http.h"
#include "http_int.h"

#include <common/string.h>

static int hex_value(char c) {
    if (isdigit_(c))
        return c - '0';
    return http_lower(c) - 'a' + 10;
}

/* Decoded bytes a path may not hold: controls, which no file name has and
 * which would reach logs, and '\', a separator to some. */
static bool path_byte_bad(uint8_t b) {
    return b < ' ' || b == 0x7f || b == '\\';
}

/* Where the path of target starts: itself in origin-form, after the
 * authority of "http://authority" (any case) in absolute-form. NULL for
 * another form or a byte no target may hold. */
static const char *target_path(const char *target) {
    for (const char *c = target; *c; c++) {
        if (*c < '!' || *c > '~' || *c == '#' || *c == '\\')
            return NULL;
    }
    if (target[0] == '/')
        return target;
    static const char scheme[] = "http://";
    for (size_t i = 0; i < sizeof(scheme) - 1; i++) {
        if (http_lower(target[i]) != scheme[i])
            return NULL;
    }
    const char *authority = target + sizeof(scheme) - 1, *end = authority;
    while (*end && *end != '/' && *end != '?')
        end++;
    return end == authority ? NULL : end;
}

/* Decode s up to its query into out, starting it with '/' if s does not
 * (an absolute-form target without a path). */
static int decode(const char *s, char *out, size_t outlen) {
    size_t w = 0;
    if (*s != '/' && outlen > 0)
        out[w++] = '/';
    for (; *s && *s != '?'; s++) {
        char c = *s;
        if (c == '%') {
            if (!isxdigit_(s[1]) || !isxdigit_(s[2]))
                return HTTP_BAD_REQUEST;
            c = (char) (hex_value(s[1]) * 16 + hex_value(s[2]));
            if (path_byte_bad((uint8_t) c))
                return HTTP_BAD_REQUEST;
            s += 2;
        }
        if (w + 1 >= outlen)
            return HTTP_URI_TOO_LONG;
        out[w++] = c;
    }
    if (w >= outlen)
        return HTTP_URI_TOO_LONG;
    out[w] = '\0';
    return 0;
}

/*
 * Resolve the segments of the absolute path s in place: drop empty and "."
 * segments, let ".." remove the one before it (400 at the root). What is
 * written never overtakes what is read, and s[0..w) always ends in '/'.
 */
static int normalize(char *s) {
    size_t n = strlen(s), w = 1, r = 1;
    bool dir = true;  /* the result names a directory: keep its '/' */
    while (r < n) {
        size_t e = r;
        while (e < n && s[e] != '/')
            e++;
        size_t seg = e - r;
        dir = true;
        if (seg == 2 && s[r] == '.' && s[r + 1] == '.') {
            if (w == 1)
                return HTTP_BAD_REQUEST;
            for (w--; s[w - 1] != '/'; w--)
                ;
        } else if (seg > 1 || (seg == 1 && s[r] != '.')) {
            memmove(s + w, s + r, seg);
            w += seg;
            s[w++] = '/';
            dir = e < n;
        }
        r = e + 1;
    }
    s[dir ? w : w - 1] = '\0';
    return 0;
}

int http_normalize_target(const char *target, char *out, size_t outlen) {
    const char *path = target_path(target);
    if (!path)
        return HTTP_BAD_REQUEST;
    int status = decode(path, out, outlen);
    return status != 0 ? status : normalize(out);
}

int http_map_path(const char *path, const char *root, char *out, size_t outlen) {
    size_t root_len = strlen(root), path_len = strlen(path);
    while (root_len > 0 && root[root_len - 1] == '/')
        root_len--;
    if (path[0] != '/')
        return HTTP_BAD_REQUEST;
    for (const char *c = path; *c; c++) {
        if (path_byte_bad((uint8_t) *c))
            return HTTP_BAD_REQUEST;
    }
    if (root_len + path_len >= outlen)
        return HTTP_URI_TOO_LONG;
    memcpy(out, root, root_len);
    memcpy(out + root_len, path, path_len + 1);
    if (normalize(out + root_len) != 0)
        return HTTP_BAD_REQUEST;
    size_t n = strlen(out);
    if (n > 1 && out[n - 1] == '/')
        out[n - 1] = '\0';
    return 0;
}

bool http_path_is_dir(const char *path) {
    size_t n = strlen(path);
    return n > 0 && path[n - 1] == '/';
}

int http_append_index(char *fspath, size_t outlen) {
    size_t n = strlen(fspath);
    const char *index = n > 0 && fspath[n - 1] == '/' ? "index.html" : "/index.html";
    if (n + strlen(index) >= outlen)
        return HTTP_URI_TOO_LONG;
    memcpy(fspath + n, index, strlen(index) + 1);
    return 0;
}
