package main

import (
	"math"
	"strconv"
	"strings"
)

// The C instrument reads its numbers with strtod and strtol (wasi-libc) and
// falls back to the default unless the whole value is one number. These
// accept exactly what those calls accept.

const cSpace = " \t\n\v\f\r"

// digitsAt returns the end of the run of digits (hexadecimal ones if hex) at s[i:].
func digitsAt(s string, i int, hex bool) int {
	for ; i < len(s); i++ {
		c := s[i] | 0x20 // lower case for letters
		if !(s[i] >= '0' && s[i] <= '9') && !(hex && c >= 'a' && c <= 'f') {
			break
		}
	}
	return i
}

// isCFloat reports whether all of s is a finite number strtod reads:
// [+-] digits [. digits] [e [+-] digits], or in hexadecimal 0x digits [. digits] [p [+-] digits].
// A mantissa needs a digit on one side of its point.
func isCFloat(s string, hex bool) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	exponent := byte('e')
	if hex {
		if len(s) < i+2 || s[i] != '0' || s[i+1]|0x20 != 'x' {
			return false
		}
		i += 2
		exponent = 'p'
	}
	j := digitsAt(s, i, hex)
	n := j - i
	if j < len(s) && s[j] == '.' {
		k := digitsAt(s, j+1, hex)
		n += k - j - 1
		j = k
	}
	if n == 0 {
		return false
	}
	if j < len(s) && s[j]|0x20 == exponent {
		j++
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		k := digitsAt(s, j, false)
		if k == j {
			return false
		}
		j = k
	}
	return j == len(s)
}

func paramDouble(params []param, key string, def float64) float64 {
	s, ok := paramValue(params, key)
	if !ok || s == "" {
		return def
	}
	s = strings.TrimLeft(s, cSpace)
	switch {
	case isCFloat(s, false):
	case isCFloat(s, true):
		if !strings.ContainsAny(s, "pP") {
			s += "p0" // C's hexadecimal floats may leave out the exponent, Go's may not
		}
	default:
		return def // infinities and NaNs are refused too
	}
	v, err := strconv.ParseFloat(s, 64)
	// Out of range: an overflow is infinite (refused), an underflow is kept.
	if (err != nil && !isRangeError(err)) || math.IsInf(v, 0) || math.IsNaN(v) {
		return def
	}
	return v
}

// paramLong reads a C long, which is 32 bits wide on wasm32.
func paramLong(params []param, key string, def int) int {
	s, ok := paramValue(params, key)
	if !ok || s == "" {
		return def
	}
	s = strings.TrimLeft(s, cSpace)
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	if digitsAt(s, i, false) == i || digitsAt(s, i, false) != len(s) {
		return def
	}
	v, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return def
	}
	return int(v)
}

func isRangeError(err error) bool {
	e, ok := err.(*strconv.NumError)
	return ok && e.Err == strconv.ErrRange
}
