/*
 * png.h: writes 8-bit RGB images as PNG files, with a small deflate
 * compressor of its own (LZ77 + the fixed Huffman code), so the instrument
 * needs nothing beyond libc.
 */
#ifndef PNG_H
#define PNG_H

#include <stddef.h>
#include <stdint.h>

/* Encodes width x height pixels (3 bytes each, row after row). Returns a
 * malloc'd buffer and its length in *len, or NULL when out of memory. */
uint8_t *png_encode_rgb(const uint8_t *pixels, uint32_t width, uint32_t height, size_t *len);

#endif
