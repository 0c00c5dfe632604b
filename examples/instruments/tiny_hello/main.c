/*
 * tiny_hello: the smallest useful instrument, a baseline for benchmarks.
 *
 *   GET /tiny_hello?name=Alice  ->  Hello, Alice!
 *
 * It reads the request with plain stdio and finds params.name with a few
 * lines of JSON walking: no allocation, no printf, a module of a few KB.
 */
#include <stdio.h>
#include <string.h>

static char buf[1 << 16];    /* requests larger than this are cut short */
static const char *p, *end;

static void ws(void) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
}

/* Skips a string (p at its opening quote); returns where its text starts. */
static const char *skip_string(void) {
    const char *s = ++p;
    while (p < end && *p != '"') p += *p == '\\' ? 2 : 1;
    p++;
    return s;
}

/* Skips any value, counting brackets outside strings. */
static void skip_value(void) {
    int depth = 0;
    do {
        ws();
        if (p >= end) return;
        if (*p == '"') { skip_string(); continue; }
        if (*p == '{' || *p == '[') depth++;
        else if (*p == '}' || *p == ']') depth--;
        else if (*p == ',' || *p == ':') { if (!depth) return; }
        else if (!depth) { while (p < end && !strchr(",}] \t\r\n", *p)) p++; return; }
        p++;
    } while (depth > 0);
}

/* With p at '{', finds the member called key; p is left at its value. */
static int find(const char *key) {
    size_t n = strlen(key);
    for (p++; ws(), p < end && *p == '"';) {
        const char *k = skip_string();
        int match = (size_t)(p - 1 - k) == n && !memcmp(k, key, n);
        ws();
        if (p >= end || *p++ != ':') return 0;
        ws();
        if (match) return 1;
        skip_value();
        ws();
        if (p < end && *p == ',') p++;
    }
    return 0;
}

/* Writes the string at p (a JSON string) decoded, \uXXXX as UTF-8. */
static void put_string(void) {
    const char *s = skip_string(), *e = p - 1;
    while (s < e) {
        char c = *s++;
        if (c != '\\') { putchar(c); continue; }
        c = *s++;
        if (c == 'u' && e - s >= 4) {
            unsigned cp = 0;
            for (int i = 0; i < 4; i++, s++)
                cp = cp << 4 | (unsigned)(*s <= '9' ? *s - '0' : (*s | 0x20) - 'a' + 10);
            if (cp >= 0xD800 && cp < 0xDC00 && e - s >= 6 && s[0] == '\\' && s[1] == 'u') {
                unsigned lo = 0;
                for (int i = 2; i < 6; i++) lo = lo << 4 | (unsigned)(s[i] <= '9' ? s[i] - '0' : (s[i] | 0x20) - 'a' + 10);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                s += 6;
            }
            if (cp < 0x80) putchar((int)cp);
            else if (cp < 0x800) { putchar(0xC0 | cp >> 6); putchar(0x80 | (cp & 0x3F)); }
            else if (cp < 0x10000) { putchar(0xE0 | cp >> 12); putchar(0x80 | (cp >> 6 & 0x3F)); putchar(0x80 | (cp & 0x3F)); }
            else { putchar(0xF0 | cp >> 18); putchar(0x80 | (cp >> 12 & 0x3F)); putchar(0x80 | (cp >> 6 & 0x3F)); putchar(0x80 | (cp & 0x3F)); }
        } else {
            putchar(c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c == 'b' ? '\b' : c == 'f' ? '\f' : c);
        }
    }
}

int main(void) {
    size_t len = fread(buf, 1, sizeof buf, stdin);
    p = buf;
    end = buf + len;
    fputs("Hello, ", stdout);
    ws();
    if (p < end && *p == '{' && find("params") && *p == '{' && find("name") && *p == '"' && p + 1 < end && p[1] != '"')
        put_string();
    else
        fputs("World", stdout);
    fputs("!\n", stdout);
    return 0;
}
