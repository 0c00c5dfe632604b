/*
 * profile: fills an HTML template with a person's profile.
 *
 *   GET /profile?name=John&age=25&hobbies=reading,coding,hiking
 *
 * The template is /templates/profile.html in a directory the route mounts.
 * It may use {{Name}}, {{Age}}, {{HobbiesList}} (one <li> per hobby) and
 * {{NoHobbies}} (a note shown when there are none); the values are
 * HTML-escaped, so a query cannot inject markup into the page.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/request.h"

#define TEMPLATE "/templates/profile.html"
#define MAX_TEMPLATE (1u << 20)

static void put_escaped(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '&': fputs("&amp;", stdout); break;
        case '<': fputs("&lt;", stdout); break;
        case '>': fputs("&gt;", stdout); break;
        case '"': fputs("&quot;", stdout); break;
        case '\'': fputs("&#39;", stdout); break;
        default: putchar(s[i]);
        }
    }
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Writes one <li> per comma-separated hobby, trimmed, skipping empty ones.
 * Returns how many there were. */
static int put_hobbies(const char *list, int write) {
    int count = 0;
    while (list && *list) {
        const char *end = strchr(list, ',');
        if (!end) end = list + strlen(list);
        const char *a = list, *b = end;
        while (a < b && is_space(*a)) a++;
        while (b > a && is_space(b[-1])) b--;
        if (a < b) {
            count++;
            if (write) {
                fputs("<li>", stdout);
                put_escaped(a, (size_t)(b - a));
                fputs("</li>", stdout);
            }
        }
        list = *end ? end + 1 : end;
    }
    return count;
}

static const char *or_default(const char *value, const char *def) {
    return value && *value ? value : def;
}

int main(void) {
    struct request req;
    if (request_read(&req)) return 1;
    const char *name = or_default(request_param(&req, "name"), "Guest");
    const char *age = or_default(request_param(&req, "age"), "unknown");
    const char *hobbies = request_param(&req, "hobbies");

    FILE *f = fopen(TEMPLATE, "rb");
    char *tpl = malloc(MAX_TEMPLATE + 1);
    if (!f || !tpl) {
        fputs("profile: cannot open " TEMPLATE ": ", stderr);
        fputs(strerror(errno), stderr);
        fputc('\n', stderr);
        return 1;
    }
    size_t len = fread(tpl, 1, MAX_TEMPLATE + 1, f);
    if (ferror(f) || len > MAX_TEMPLATE) {
        fputs("profile: cannot read " TEMPLATE " (or it is larger than 1 MiB)\n", stderr);
        return 1;
    }
    fclose(f);
    tpl[len] = '\0';

    /* One pass over the template, so a value that happens to contain a
     * placeholder is printed as it is, not expanded. */
    const char *p = tpl, *end = tpl + len;
    while (p < end) {
        const char *open = strstr(p, "{{");
        const char *close = open ? strstr(open + 2, "}}") : NULL;
        if (!close) {
            fwrite(p, 1, (size_t)(end - p), stdout);
            break;
        }
        fwrite(p, 1, (size_t)(open - p), stdout);
        size_t n = (size_t)(close - open - 2);
        const char *key = open + 2;
        if (n == 4 && !memcmp(key, "Name", 4)) {
            put_escaped(name, strlen(name));
        } else if (n == 3 && !memcmp(key, "Age", 3)) {
            put_escaped(age, strlen(age));
        } else if (n == 11 && !memcmp(key, "HobbiesList", 11)) {
            put_hobbies(hobbies, 1);
        } else if (n == 9 && !memcmp(key, "NoHobbies", 9)) {
            if (!put_hobbies(hobbies, 0)) fputs("<p><em>No hobbies listed.</em></p>", stdout);
        } else {
            fwrite(open, 1, n + 4, stdout); /* not ours: leave it as it was */
        }
        p = close + 2;
    }
    return 0;
}
