/*
 * A small, strict JSON reader, enough for the WASIO request: it walks the
 * whole document (so malformed input is rejected, not half-read) and keeps
 * the string members of "params", the integer "seed" and the string "method".
 */
#include "request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parser {
    const char *p, *end;
};

static void skip_ws(struct parser *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int hex4(const char *s, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

static char *put_utf8(char *o, unsigned cp) {
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | cp >> 6);
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | cp >> 12);
        *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | cp >> 18);
        *o++ = (char)(0x80 | (cp >> 12 & 0x3F));
        *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

/* Parses a string at ps->p (which points at the opening quote). When out is
 * not NULL, *out receives the decoded text (malloc'd; an escape never decodes
 * to more bytes than it occupies, so the raw length is enough). */
static int parse_string(struct parser *ps, char **out) {
    const char *s = ++ps->p;
    while (ps->p < ps->end && *ps->p != '"') {
        if ((unsigned char)*ps->p < 0x20) return -1;
        if (*ps->p == '\\') ps->p++;
        ps->p++;
    }
    if (ps->p >= ps->end) return -1;
    const char *e = ps->p++;
    char *buf = malloc((size_t)(e - s) + 1), *o = buf;
    if (!buf) return -1;
    for (const char *q = s; q < e; q++) {
        if (*q != '\\') { *o++ = *q; continue; }
        switch (*++q) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (e - q < 5 || hex4(q + 1, &cp)) goto bad;
            q += 4;
            /* A high surrogate followed by a low one is one code point;
             * a lone surrogate becomes U+FFFD. */
            if (cp >= 0xD800 && cp < 0xDC00 && e - q >= 7 && q[1] == '\\' && q[2] == 'u' &&
                !hex4(q + 3, &lo) && lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                q += 6;
            } else if (cp >= 0xD800 && cp < 0xE000) {
                cp = 0xFFFD;
            }
            o = put_utf8(o, cp);
            break;
        }
        default: goto bad;
        }
    }
    *o = '\0';
    if (out) *out = buf; else free(buf);
    return 0;
bad:
    free(buf);
    return -1;
}

/* Parses a number; when it is an integer that fits, *as_int receives it. */
static int parse_number(struct parser *ps, int64_t *as_int, int *is_int) {
    const char *s = ps->p;
    int neg = 0, fits = 1, digits = 0;
    uint64_t mag = 0;
    if (ps->p < ps->end && *ps->p == '-') { neg = 1; ps->p++; }
    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
        unsigned d = (unsigned)(*ps->p++ - '0');
        if (mag > (UINT64_MAX - d) / 10) fits = 0; else mag = mag * 10 + d;
        digits++;
    }
    if (!digits || (digits > 1 && s[neg] == '0')) return -1;
    int integral = 1;
    if (ps->p < ps->end && *ps->p == '.') {
        integral = 0;
        ps->p++;
        if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9') return -1;
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') ps->p++;
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        integral = 0;
        ps->p++;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-')) ps->p++;
        if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9') return -1;
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') ps->p++;
    }
    if (neg ? mag > (uint64_t)INT64_MAX + 1 : mag > (uint64_t)INT64_MAX) fits = 0;
    *is_int = integral && fits;
    if (*is_int) *as_int = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    return 0;
}

static int parse_literal(struct parser *ps, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n)) return -1;
    ps->p += n;
    return 0;
}

/* What the caller wants from the value being parsed. */
enum want { SKIP, PARAMS, SEED, METHOD };

static int parse_value(struct parser *ps, struct request *req, enum want want, int depth);

static int parse_object(struct parser *ps, struct request *req, enum want want, int depth) {
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') { ps->p++; return 0; }
    for (;;) {
        char *key;
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != '"' || parse_string(ps, &key)) return -1;
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p++ != ':') { free(key); return -1; }
        skip_ws(ps);
        enum want inner = SKIP;
        if (want == PARAMS && ps->p < ps->end && *ps->p == '"') {
            char *value;
            if (parse_string(ps, &value)) { free(key); return -1; }
            char **k = realloc(req->keys, sizeof *k * (size_t)(req->nparams + 1));
            if (k) req->keys = k;
            char **v = realloc(req->values, sizeof *v * (size_t)(req->nparams + 1));
            if (v) req->values = v;
            if (!k || !v) return -1;
            req->keys[req->nparams] = key;
            req->values[req->nparams++] = value;
            goto next;
        }
        if (depth == 0) {
            if (!strcmp(key, "params")) inner = PARAMS;
            else if (!strcmp(key, "seed")) inner = SEED;
            else if (!strcmp(key, "method")) inner = METHOD;
        }
        free(key);
        if (parse_value(ps, req, inner, depth + 1)) return -1;
    next:
        skip_ws(ps);
        if (ps->p >= ps->end) return -1;
        if (*ps->p == '}') { ps->p++; return 0; }
        if (*ps->p++ != ',') return -1;
    }
}

static int parse_value(struct parser *ps, struct request *req, enum want want, int depth) {
    if (depth > 64 || ps->p >= ps->end) return -1;
    switch (*ps->p) {
    case '{':
        return parse_object(ps, req, want == PARAMS ? PARAMS : SKIP, depth);
    case '[':
        ps->p++;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ']') { ps->p++; return 0; }
        for (;;) {
            skip_ws(ps);
            if (parse_value(ps, req, SKIP, depth + 1)) return -1;
            skip_ws(ps);
            if (ps->p >= ps->end) return -1;
            if (*ps->p == ']') { ps->p++; return 0; }
            if (*ps->p++ != ',') return -1;
        }
    case '"': {
        char *s;
        if (parse_string(ps, want == METHOD ? &s : NULL)) return -1;
        if (want == METHOD) { free(req->method); req->method = s; }
        return 0;
    }
    case 't': return parse_literal(ps, "true");
    case 'f': return parse_literal(ps, "false");
    case 'n': return parse_literal(ps, "null");
    default: {
        int64_t n;
        int is_int = 0;
        if (parse_number(ps, &n, &is_int)) return -1;
        if (want == SEED && is_int) req->seed = n;
        return 0;
    }
    }
}

int request_read(struct request *req) {
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    memset(req, 0, sizeof *req);
    req->method = strdup("");
    if (!buf || !req->method) return -1;
    for (size_t n; (n = fread(buf + len, 1, cap - len, stdin)) > 0;) {
        len += n;
        if (len == cap) {
            char *bigger = realloc(buf, cap *= 2);
            if (!bigger) { free(buf); return -1; }
            buf = bigger;
        }
    }
    struct parser ps = {buf, buf + len};
    skip_ws(&ps);
    int rc = 0;
    if (ps.p < ps.end) {
        if (*ps.p != '{' || parse_object(&ps, req, SKIP, 0)) rc = -1;
        skip_ws(&ps);
        if (ps.p != ps.end) rc = -1;
    }
    free(buf);
    if (rc) fputs("the request on stdin is not a JSON object\n", stderr);
    return rc;
}

const char *request_param(const struct request *req, const char *key) {
    for (int i = 0; i < req->nparams; i++)
        if (!strcmp(req->keys[i], key)) return req->values[i];
    return NULL;
}
