/* splitargs.c -- Redis's argument splitting; see splitargs.h. */
#include "splitargs.h"

static int hex_val(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* isspace() in the C locale, spelled out so that no locale changes it. */
static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static int ends_arg(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static char unescape(char c)
{
    switch (c) {
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'b': return '\b';
    case 'a': return '\a';
    default: return c;
    }
}

/* The rest of a "double quoted" part from s[*i] (past the quote); returns
 * 0 on unbalanced quotes. */
static int double_quoted(char *s, size_t *i, size_t end, size_t *out)
{
    for (;;) {
        if (*i >= end) return 0;
        if (s[*i] == '\\' && *i + 3 < end && s[*i + 1] == 'x' && hex_val(s[*i + 2]) >= 0 &&
            hex_val(s[*i + 3]) >= 0) {
            s[(*out)++] = (char)(hex_val(s[*i + 2]) * 16 + hex_val(s[*i + 3]));
            *i += 4;
        } else if (s[*i] == '\\' && *i + 1 < end) {
            s[(*out)++] = unescape(s[*i + 1]);
            *i += 2;
        } else if (s[*i] == '"') {
            (*i)++;
            return *i >= end || is_blank(s[*i]);
        } else {
            s[(*out)++] = s[(*i)++];
        }
    }
}

/* The rest of a 'single quoted' part, as double_quoted(). */
static int single_quoted(char *s, size_t *i, size_t end, size_t *out)
{
    for (;;) {
        if (*i >= end) return 0;
        if (s[*i] == '\\' && *i + 1 < end && s[*i + 1] == '\'') {
            s[(*out)++] = '\'';
            *i += 2;
        } else if (s[*i] == '\'') {
            (*i)++;
            return *i >= end || is_blank(s[*i]);
        } else {
            s[(*out)++] = s[(*i)++];
        }
    }
}

int split_next_arg(char *s, size_t *pos, size_t end, size_t *off, size_t *len)
{
    size_t i = *pos;
    while (i < end && is_blank(s[i]))
        i++;
    if (i >= end) {
        *pos = i;
        return 0;
    }
    size_t out = i;
    *off = i;
    while (i < end && !ends_arg(s[i])) {
        if (s[i] == '"' || s[i] == '\'') {
            int dq = s[i++] == '"';
            if (!(dq ? double_quoted(s, &i, end, &out) : single_quoted(s, &i, end, &out)))
                return -1;
            break; /* a closing quote ends the argument */
        }
        s[out++] = s[i++];
    }
    *len = out - *off;
    *pos = i;
    return 1;
}
