package main

import (
	"bytes"
	"unicode/utf8"
)

// The request reader of the C instruments (examples/instruments/common/request.c),
// ported so that this build accepts and refuses the same requests and reads the
// same parameters: a strict JSON walk over the whole document that keeps the
// string members of the top-level "params" objects, in order. Strings are C
// strings there, so a decoded value ends at its first NUL.

type param struct{ key, value string }

type parser struct {
	s      []byte
	p      int
	params []param
}

// parseRequest parses stdin. An empty (all-whitespace) stdin is a request
// without parameters; false means stdin is not a JSON object.
func parseRequest(input []byte) ([]param, bool) {
	ps := &parser{s: input}
	ps.skipWS()
	ok := true
	if ps.p < len(ps.s) {
		ok = ps.s[ps.p] == '{' && ps.parseObject(false, 0)
		ps.skipWS()
		ok = ok && ps.p == len(ps.s)
	}
	return ps.params, ok
}

// paramValue returns the first value of a parameter, as request_param does.
func paramValue(params []param, key string) (string, bool) {
	for _, p := range params {
		if p.key == key {
			return p.value, true
		}
	}
	return "", false
}

func (ps *parser) skipWS() {
	for ps.p < len(ps.s) {
		switch ps.s[ps.p] {
		case ' ', '\t', '\n', '\r':
			ps.p++
		default:
			return
		}
	}
}

func hex4(s []byte) (rune, bool) {
	var v rune
	for _, c := range s[:4] {
		v <<= 4
		switch {
		case c >= '0' && c <= '9':
			v |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			v |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			v |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return v, true
}

// parseString parses the string at ps.p (the opening quote) and decodes it.
func (ps *parser) parseString() (string, bool) {
	ps.p++
	start := ps.p
	for ps.p < len(ps.s) && ps.s[ps.p] != '"' {
		if ps.s[ps.p] < 0x20 {
			return "", false
		}
		if ps.s[ps.p] == '\\' {
			ps.p++
		}
		ps.p++
	}
	if ps.p >= len(ps.s) {
		return "", false
	}
	raw := ps.s[start:ps.p]
	ps.p++
	out := make([]byte, 0, len(raw))
	for q := 0; q < len(raw); q++ {
		if raw[q] != '\\' {
			out = append(out, raw[q])
			continue
		}
		q++
		switch raw[q] {
		case '"', '\\', '/':
			out = append(out, raw[q])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			if len(raw)-q < 5 {
				return "", false
			}
			cp, ok := hex4(raw[q+1:])
			if !ok {
				return "", false
			}
			q += 4
			// A high surrogate followed by a low one is one code point; a lone
			// surrogate becomes U+FFFD.
			if cp >= 0xD800 && cp < 0xDC00 && len(raw)-q >= 7 && raw[q+1] == '\\' && raw[q+2] == 'u' {
				if lo, ok := hex4(raw[q+3:]); ok && lo >= 0xDC00 && lo < 0xE000 {
					cp = 0x10000 + (cp-0xD800)<<10 + (lo - 0xDC00)
					q += 6
				}
			}
			if cp >= 0xD800 && cp < 0xE000 {
				cp = 0xFFFD
			}
			out = utf8.AppendRune(out, cp)
		default:
			return "", false
		}
	}
	if nul := bytes.IndexByte(out, 0); nul >= 0 {
		out = out[:nul]
	}
	return string(out), true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (ps *parser) digits() int {
	n := 0
	for ps.p < len(ps.s) && isDigit(ps.s[ps.p]) {
		ps.p++
		n++
	}
	return n
}

func (ps *parser) parseNumber() bool {
	start := ps.p
	if ps.p < len(ps.s) && ps.s[ps.p] == '-' {
		ps.p++
	}
	lead := ps.p
	if n := ps.digits(); n == 0 || (n > 1 && ps.s[lead] == '0') {
		return false
	}
	if ps.p < len(ps.s) && ps.s[ps.p] == '.' {
		ps.p++
		if ps.digits() == 0 {
			return false
		}
	}
	if ps.p < len(ps.s) && (ps.s[ps.p] == 'e' || ps.s[ps.p] == 'E') {
		ps.p++
		if ps.p < len(ps.s) && (ps.s[ps.p] == '+' || ps.s[ps.p] == '-') {
			ps.p++
		}
		if ps.digits() == 0 {
			return false
		}
	}
	return ps.p > start
}

func (ps *parser) parseLiteral(word string) bool {
	if !bytes.HasPrefix(ps.s[ps.p:], []byte(word)) {
		return false
	}
	ps.p += len(word)
	return true
}

// parseObject parses the object at ps.p; wantParams keeps its string members.
func (ps *parser) parseObject(wantParams bool, depth int) bool {
	ps.p++
	ps.skipWS()
	if ps.p < len(ps.s) && ps.s[ps.p] == '}' {
		ps.p++
		return true
	}
	for {
		ps.skipWS()
		if ps.p >= len(ps.s) || ps.s[ps.p] != '"' {
			return false
		}
		key, ok := ps.parseString()
		if !ok {
			return false
		}
		ps.skipWS()
		if ps.p >= len(ps.s) || ps.s[ps.p] != ':' {
			return false
		}
		ps.p++
		ps.skipWS()
		if wantParams && ps.p < len(ps.s) && ps.s[ps.p] == '"' {
			value, ok := ps.parseString()
			if !ok {
				return false
			}
			ps.params = append(ps.params, param{key, value})
		} else if !ps.parseValue(depth == 0 && key == "params", depth+1) {
			return false
		}
		ps.skipWS()
		if ps.p >= len(ps.s) {
			return false
		}
		c := ps.s[ps.p]
		ps.p++
		if c == '}' {
			return true
		}
		if c != ',' {
			return false
		}
	}
}

func (ps *parser) parseValue(wantParams bool, depth int) bool {
	if depth > 64 || ps.p >= len(ps.s) {
		return false
	}
	switch ps.s[ps.p] {
	case '{':
		return ps.parseObject(wantParams, depth)
	case '[':
		ps.p++
		ps.skipWS()
		if ps.p < len(ps.s) && ps.s[ps.p] == ']' {
			ps.p++
			return true
		}
		for {
			ps.skipWS()
			if !ps.parseValue(false, depth+1) {
				return false
			}
			ps.skipWS()
			if ps.p >= len(ps.s) {
				return false
			}
			c := ps.s[ps.p]
			ps.p++
			if c == ']' {
				return true
			}
			if c != ',' {
				return false
			}
		}
	case '"':
		_, ok := ps.parseString()
		return ok
	case 't':
		return ps.parseLiteral("true")
	case 'f':
		return ps.parseLiteral("false")
	case 'n':
		return ps.parseLiteral("null")
	default:
		return ps.parseNumber()
	}
}
