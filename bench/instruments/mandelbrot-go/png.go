package main

import (
	"hash/adler32"
	"hash/crc32"
)

// PNG encoding ported from examples/instruments/mandelbrot/png.c, so that both
// builds write the same bytes: greedy LZ77 matching through hash chains, coded
// with deflate's fixed Huffman table in one block (RFC 2083, 1950, 1951).

// out is a growable buffer with a deflate bit writer.
type out struct {
	buf   []byte
	bits  uint32 // pending bits, least significant first
	nbits uint
}

func (o *out) putU32BE(v uint32) {
	o.buf = append(o.buf, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// putBits appends n bits of value, least significant bit first (deflate order).
func (o *out) putBits(value uint32, n uint) {
	o.bits |= value << o.nbits
	o.nbits += n
	for o.nbits >= 8 {
		o.buf = append(o.buf, byte(o.bits))
		o.bits >>= 8
		o.nbits -= 8
	}
}

func (o *out) flushBits() {
	if o.nbits > 0 {
		o.buf = append(o.buf, byte(o.bits))
	}
	o.bits, o.nbits = 0, 0
}

// putCode writes a Huffman code, which is defined most significant bit first.
func (o *out) putCode(code uint32, n uint) {
	var rev uint32
	for i := uint(0); i < n; i++ {
		rev |= ((code >> i) & 1) << (n - 1 - i)
	}
	o.putBits(rev, n)
}

// putSymbol writes a literal/length symbol with the fixed Huffman code (RFC 1951, 3.2.6).
func (o *out) putSymbol(sym int) {
	switch {
	case sym < 144:
		o.putCode(0x30+uint32(sym), 8)
	case sym < 256:
		o.putCode(0x190+uint32(sym-144), 9)
	case sym < 280:
		o.putCode(uint32(sym-256), 7)
	default:
		o.putCode(0xC0+uint32(sym-280), 8)
	}
}

var (
	lenBase = [29]int{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27,
		31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra = [29]uint{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
		2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase = [30]int{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129,
		193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097,
		6145, 8193, 12289, 16385, 24577}
	distExtra = [30]uint{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6,
		6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
)

func (o *out) putMatch(length, distance int) {
	i := 28
	for lenBase[i] > length {
		i--
	}
	o.putSymbol(257 + i)
	o.putBits(uint32(length-lenBase[i]), lenExtra[i])
	d := 29
	for distBase[d] > distance {
		d--
	}
	o.putCode(uint32(d), 5)
	o.putBits(uint32(distance-distBase[d]), distExtra[d])
}

const (
	window   = 32768
	minMatch = 3
	maxMatch = 258
	hashBits = 15
	maxChain = 48
)

func hash3(p []byte) uint32 {
	return (uint32(p[0])<<16 | uint32(p[1])<<8 | uint32(p[2])) * 2654435761 >> (32 - hashBits)
}

func (o *out) deflateFixed(data []byte) {
	// head[h]: last position + 1 with hash h; prev[pos % window]: the one before.
	head := make([]uint32, 1<<hashBits)
	prev := make([]uint32, window)
	n := len(data)

	o.putBits(1, 1) // BFINAL: the only block
	o.putBits(1, 2) // BTYPE 01: fixed Huffman
	pos := 0
	for pos < n {
		bestLen, bestDist := 0, 0
		if pos+minMatch <= n {
			limit := min(n-pos, maxMatch)
			cand := head[hash3(data[pos:])]
			for chain := 0; cand != 0 && chain < maxChain; chain++ {
				c := int(cand) - 1
				if pos-c > window-1 {
					break
				}
				l := 0
				for l < limit && data[c+l] == data[pos+l] {
					l++
				}
				if l > bestLen {
					bestLen, bestDist = l, pos-c
					if l == limit {
						break
					}
				}
				next := prev[c%window]
				if next >= cand {
					break // the slot was reused: the chain ends
				}
				cand = next
			}
		}
		step := 1
		if bestLen >= minMatch {
			step = bestLen
			o.putMatch(bestLen, bestDist)
		} else {
			o.putSymbol(int(data[pos]))
		}
		// Index every position the step covers, so later matches find them.
		for end := pos + step; pos < end; pos++ {
			if pos+minMatch <= n {
				h := hash3(data[pos:])
				prev[pos%window] = head[h]
				head[h] = uint32(pos) + 1
			}
		}
	}
	o.putSymbol(256) // end of block
	o.flushBits()
}

// chunk appends a PNG chunk: length, type, data and the CRC of type and data.
func (o *out) chunk(kind string, data func(o *out)) {
	start := len(o.buf)
	o.putU32BE(0) // the length, filled in below
	o.buf = append(o.buf, kind...)
	data(o)
	length := uint32(len(o.buf) - start - 8)
	o.buf[start], o.buf[start+1], o.buf[start+2], o.buf[start+3] =
		byte(length>>24), byte(length>>16), byte(length>>8), byte(length)
	o.putU32BE(crc32.ChecksumIEEE(o.buf[start+4:]))
}

// encodePNG encodes width x height pixels (3 bytes each, row after row) as an
// 8-bit RGB PNG.
func encodePNG(pixels []byte, width, height int) []byte {
	// Each row gets a filter-type byte in front: 0, no filter.
	row := width * 3
	raw := make([]byte, (row+1)*height)
	for y := 0; y < height; y++ {
		copy(raw[y*(row+1)+1:], pixels[y*row:(y+1)*row])
	}

	o := &out{buf: make([]byte, 0, 65536)}
	o.buf = append(o.buf, 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n')
	o.chunk("IHDR", func(o *out) {
		o.putU32BE(uint32(width))
		o.putU32BE(uint32(height))
		o.buf = append(o.buf,
			8, // bit depth
			2, // colour type: RGB
			0, // compression: deflate
			0, // filter method
			0) // no interlace
	})
	o.chunk("IDAT", func(o *out) {
		o.buf = append(o.buf, 0x78, 0x01) // zlib header: deflate, 32 KiB window, no dictionary
		o.deflateFixed(raw)
		o.putU32BE(adler32.Checksum(raw))
	})
	o.chunk("IEND", func(*out) {})
	return o.buf
}
