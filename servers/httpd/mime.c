/*
 * Content types by file extension. FAT hands names back in whatever case
 * they were written ("INDEX.HTM"), so extensions match ignoring case.
 * Text types carry their charset: everything served is taken to be UTF-8.
 */
#include "http.h"
#include "http_int.h"

#include <common/string.h>

#define UTF8 "; charset=utf-8"

static const struct {
    const char *ext; /* lower case */
    const char *type;
} mime_types[] = {
    {"html", "text/html" UTF8},
    {"htm", "text/html" UTF8},
    {"css", "text/css" UTF8},
    {"js", "text/javascript" UTF8},
    {"mjs", "text/javascript" UTF8},
    {"txt", "text/plain" UTF8},
    {"md", "text/markdown" UTF8},
    {"csv", "text/csv" UTF8},
    {"json", "application/json"},
    {"xml", "application/xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"svg", "image/svg+xml"},
    {"ico", "image/x-icon"},
    {"wasm", "application/wasm"},
    {"pdf", "application/pdf"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
    {"mp3", "audio/mpeg"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
};

const char *http_mime_type(const char *path) {
    const char *name = strrchr(path, '/');
    name = name ? name + 1 : path;
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name)  /* no extension, or a dot file */
        return HTTP_MIME_DEFAULT;
    const char *ext = dot + 1;
    size_t n = strlen(ext);
    for (size_t i = 0; i < ARRAY_SIZE(mime_types); i++) {
        if (http_word_is(ext, n, mime_types[i].ext))
            return mime_types[i].type;
    }
    return HTTP_MIME_DEFAULT;
}
