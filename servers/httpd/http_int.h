/*
 * Character classes and comparisons shared by the files of the httpd core
 * (RFC 9110 §5.6.2 tokens, ASCII case folding). Not part of the API.
 */
#pragma once

#include <common/types.h>

static inline char http_lower(char c) {
    return c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c;
}

/* tchar: the characters of a method, a field name or a Connection option. */
static inline bool http_is_tchar(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
        return true;
    default:
        return false;
    }
}

/* s[0..n) is word (lower case, NUL-terminated), ignoring the case of s. */
static inline bool http_word_is(const char *s, size_t n, const char *word) {
    for (size_t i = 0; i < n; i++) {
        if (word[i] == '\0' || http_lower(s[i]) != word[i])
            return false;
    }
    return word[n] == '\0';
}
