/*
 * PNG encoding for the mandelbrot instrument (RFC 2083, RFC 1950, RFC 1951).
 *
 * The compressor is deliberately simple: greedy LZ77 matching through hash
 * chains, coded with deflate's fixed Huffman table in one block. Fractal
 * images are made of long runs of equal colours and rows that repeat the
 * one above, which this finds; a typical image shrinks 10-50x.
 */
#include "png.h"

#include <stdlib.h>
#include <string.h>

/* ---- growable output buffer with a deflate bit writer ---- */

struct out {
    uint8_t *buf;
    size_t len, cap;
    uint32_t bits; /* pending bits, least significant first */
    int nbits;
    int failed;
};

static void put_byte(struct out *o, uint8_t b) {
    if (o->len == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 65536;
        uint8_t *bigger = realloc(o->buf, cap);
        if (!bigger) { o->failed = 1; return; }
        o->buf = bigger;
        o->cap = cap;
    }
    o->buf[o->len++] = b;
}

static void put_u32be(struct out *o, uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) put_byte(o, (uint8_t)(v >> shift));
}

/* Appends n bits of value, least significant bit first (deflate order). */
static void put_bits(struct out *o, uint32_t value, int n) {
    o->bits |= value << o->nbits;
    o->nbits += n;
    while (o->nbits >= 8) {
        put_byte(o, (uint8_t)o->bits);
        o->bits >>= 8;
        o->nbits -= 8;
    }
}

static void flush_bits(struct out *o) {
    if (o->nbits > 0) put_byte(o, (uint8_t)o->bits);
    o->bits = 0;
    o->nbits = 0;
}

/* Huffman codes are defined most significant bit first: reverse them. */
static void put_code(struct out *o, uint32_t code, int n) {
    uint32_t rev = 0;
    for (int i = 0; i < n; i++) rev |= ((code >> i) & 1u) << (n - 1 - i);
    put_bits(o, rev, n);
}

/* ---- deflate with the fixed Huffman code (RFC 1951, 3.2.6) ---- */

static void put_symbol(struct out *o, int sym) {
    if (sym < 144) put_code(o, 0x30 + (uint32_t)sym, 8);
    else if (sym < 256) put_code(o, 0x190 + (uint32_t)(sym - 144), 9);
    else if (sym < 280) put_code(o, (uint32_t)(sym - 256), 7);
    else put_code(o, 0xC0 + (uint32_t)(sym - 280), 8);
}

static const uint16_t len_base[29] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27,
                                      31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t dist_base[30] = {1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129,
                                       193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097,
                                       6145, 8193, 12289, 16385, 24577};
static const uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6,
                                       6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

static void put_match(struct out *o, int length, int distance) {
    int i = 28;
    while (len_base[i] > length) i--;
    put_symbol(o, 257 + i);
    put_bits(o, (uint32_t)(length - len_base[i]), len_extra[i]);
    int d = 29;
    while (dist_base[d] > distance) d--;
    put_code(o, (uint32_t)d, 5);
    put_bits(o, (uint32_t)(distance - dist_base[d]), dist_extra[d]);
}

enum { WINDOW = 32768, MIN_MATCH = 3, MAX_MATCH = 258, HASH_BITS = 15, MAX_CHAIN = 48 };

static uint32_t hash3(const uint8_t *p) {
    return ((uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2]) * 2654435761u >> (32 - HASH_BITS);
}

static void deflate_fixed(struct out *o, const uint8_t *data, size_t n) {
    /* head[h]: last position + 1 with hash h; prev[pos % WINDOW]: the one before. */
    uint32_t *head = calloc(1u << HASH_BITS, sizeof *head);
    uint32_t *prev = calloc(WINDOW, sizeof *prev);
    if (!head || !prev) { o->failed = 1; free(head); free(prev); return; }

    put_bits(o, 1, 1); /* BFINAL: the only block */
    put_bits(o, 1, 2); /* BTYPE 01: fixed Huffman */
    size_t pos = 0;
    while (pos < n) {
        int best_len = 0;
        size_t best_dist = 0;
        if (pos + MIN_MATCH <= n) {
            uint32_t h = hash3(data + pos);
            size_t max = n - pos < MAX_MATCH ? n - pos : MAX_MATCH;
            uint32_t cand = head[h];
            for (int chain = 0; cand && chain < MAX_CHAIN; chain++) {
                size_t c = cand - 1;
                if (pos - c > WINDOW - 1) break;
                size_t l = 0;
                while (l < max && data[c + l] == data[pos + l]) l++;
                if ((int)l > best_len) {
                    best_len = (int)l;
                    best_dist = pos - c;
                    if (l == max) break;
                }
                uint32_t next = prev[c % WINDOW];
                if (next >= cand) break; /* the slot was reused: the chain ends */
                cand = next;
            }
        }
        size_t step = best_len >= MIN_MATCH ? (size_t)best_len : 1;
        if (best_len >= MIN_MATCH) put_match(o, best_len, (int)best_dist);
        else put_symbol(o, data[pos]);
        /* Index every position the step covers, so later matches find them. */
        for (size_t end = pos + step; pos < end; pos++) {
            if (pos + MIN_MATCH <= n) {
                uint32_t h = hash3(data + pos);
                prev[pos % WINDOW] = head[h];
                head[h] = (uint32_t)pos + 1;
            }
        }
    }
    put_symbol(o, 256); /* end of block */
    flush_bits(o);
    free(head);
    free(prev);
}

/* ---- checksums ---- */

static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n) {
    static uint32_t table[256];
    if (!table[1]) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
    }
    crc = ~crc;
    while (n--) crc = table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

static uint32_t adler32(const uint8_t *p, size_t n) {
    uint32_t a = 1, b = 0;
    while (n) {
        size_t chunk = n < 5552 ? n : 5552; /* the most bytes before b can overflow */
        n -= chunk;
        while (chunk--) { a += *p++; b += a; }
        a %= 65521;
        b %= 65521;
    }
    return b << 16 | a;
}

/* ---- PNG container ---- */

/* Writes a chunk whose data is o->buf[start..]: length and type go before it. */
static void end_chunk(struct out *o, size_t start) {
    if (o->failed) return;
    uint32_t len = (uint32_t)(o->len - start - 8);
    for (int i = 0; i < 4; i++) o->buf[start + i] = (uint8_t)(len >> (24 - 8 * i));
    put_u32be(o, crc32_update(0, o->buf + start + 4, len + 4));
}

static size_t begin_chunk(struct out *o, const char type[4]) {
    size_t start = o->len;
    put_u32be(o, 0); /* length, filled in by end_chunk */
    for (int i = 0; i < 4; i++) put_byte(o, (uint8_t)type[i]);
    return start;
}

uint8_t *png_encode_rgb(const uint8_t *pixels, uint32_t width, uint32_t height, size_t *len) {
    /* Each row gets a filter-type byte in front: 0, no filter. */
    size_t row = (size_t)width * 3, raw_len = (row + 1) * height;
    uint8_t *raw = malloc(raw_len);
    if (!raw) return NULL;
    for (uint32_t y = 0; y < height; y++) {
        raw[y * (row + 1)] = 0;
        memcpy(raw + y * (row + 1) + 1, pixels + y * row, row);
    }

    struct out o = {0};
    static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    for (int i = 0; i < 8; i++) put_byte(&o, signature[i]);

    size_t c = begin_chunk(&o, "IHDR");
    put_u32be(&o, width);
    put_u32be(&o, height);
    put_byte(&o, 8); /* bit depth */
    put_byte(&o, 2); /* colour type: RGB */
    put_byte(&o, 0); /* compression: deflate */
    put_byte(&o, 0); /* filter method */
    put_byte(&o, 0); /* no interlace */
    end_chunk(&o, c);

    c = begin_chunk(&o, "IDAT");
    put_byte(&o, 0x78); /* zlib header: deflate, 32 KiB window, */
    put_byte(&o, 0x01); /* no dictionary, header checksum ok */
    deflate_fixed(&o, raw, raw_len);
    put_u32be(&o, adler32(raw, raw_len));
    end_chunk(&o, c);

    end_chunk(&o, begin_chunk(&o, "IEND"));
    free(raw);
    if (o.failed) { free(o.buf); return NULL; }
    *len = o.len;
    return o.buf;
}
