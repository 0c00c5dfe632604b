/*
 * Appends records to /data/records.txt until the host stops it. Record n is
 * "<id> <n> <1000 x>|\n", about 1 KiB, appended with one call: write(), or, when the `parts`
 * query parameter is "2", one writev() of two parts (head and tail), as stdio does when it
 * flushes its buffer together with new data. Either way the kernel would append the whole
 * record at once, so no record may ever be split or interleaved with another instance's.
 *
 * A spin between records (the `spin` query parameter, in loop iterations, 20000 when
 * absent) lets a timeout land between two writes and lets other instances' records fall
 * between ours. After 2000 records it only spins, so an instance that is never stopped
 * cannot fill the disk.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define PAD 1000
#define MAX_RECORDS 2000

/* The string value of `"name":"` in the payload, copied up to the closing quote. */
static void param(const char *payload, const char *name, char *out, size_t size) {
    char needle[64];
    snprintf(needle, sizeof needle, "\"%s\":\"", name);
    const char *found = strstr(payload, needle);
    out[0] = '\0';
    if (found == NULL) return;
    found += strlen(needle);
    size_t length = 0;
    while (found[length] != '"' && found[length] != '\0' && length + 1 < size) length++;
    memcpy(out, found, length);
    out[length] = '\0';
}

static void spin(unsigned long count) {
    for (volatile unsigned long i = 0; i < count; i++) {
    }
}

int main(void) {
    static char payload[65536];
    size_t length = fread(payload, 1, sizeof payload - 1, stdin);
    payload[length] = '\0';
    char id[64], parts[8], spin_text[32];
    param(payload, "id", id, sizeof id);
    param(payload, "parts", parts, sizeof parts);
    param(payload, "spin", spin_text, sizeof spin_text);
    unsigned long spin_between = spin_text[0] == '\0' ? 20000 : strtoul(spin_text, NULL, 10);
    if (id[0] == '\0') strcpy(id, "-");
    int fd = open("/data/records.txt", O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) {
        perror("open /data/records.txt");
        return 1;
    }
    static char record[PAD + 128];
    for (int n = 0; n < MAX_RECORDS; n++) {
        int head = snprintf(record, sizeof record, "%s %d ", id, n);
        memset(record + head, 'x', PAD);
        memcpy(record + head + PAD, "|\n", 2);
        size_t total = (size_t)head + PAD + 2;
        ssize_t written;
        if (strcmp(parts, "2") == 0) {
            struct iovec halves[2] = {
                { .iov_base = record, .iov_len = (size_t)head },
                { .iov_base = record + head, .iov_len = total - (size_t)head },
            };
            written = writev(fd, halves, 2);
        } else {
            written = write(fd, record, total);
        }
        if (written != (ssize_t)total) {
            perror("append");
            return 1;
        }
        spin(spin_between);
    }
    for (;;) spin(1000000);
}
