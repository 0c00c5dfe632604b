// fibonacci-go: a Go build of examples/instruments/fibonacci (Rust), for the
// benchmarks. Same request reading, same algorithm, same output bytes:
//
//	GET /fibonacci?n=15  ->  Fibonacci number for n=15 is 610
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"unicode/utf8"
)

// maxN bounds a request: F(10000) has 2090 digits.
const maxN = 10_000

// limb is the base of the bignum: 18 decimal digits, so the sum of two limbs
// stays below 2^64 and printing needs no base conversion.
const limb = 1_000_000_000_000_000_000

func main() {
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	s, ok := readParams("fibonacci")["n"].(string)
	n, err := strconv.ParseInt(s, 10, 64)
	if !ok || err != nil || n < 0 {
		fmt.Fprintln(out, "Please provide a valid non-negative integer for 'n'.")
		return
	}
	if n > maxN {
		fmt.Fprintf(out, "Please provide a value of 'n' no greater than %d.\n", maxN)
		return
	}
	fmt.Fprintf(out, "Fibonacci number for n=%d is %s\n", n, toDecimal(fibonacci(uint64(n))))
}

// readParams reads the request on stdin and returns its "params" object, as
// the Rust instruments' reader does: an empty (all-whitespace) stdin is a
// request without parameters; anything that is not a JSON object is the
// host's fault and ends the instance with exit code 1 (a 500).
func readParams(program string) map[string]any {
	input, err := io.ReadAll(os.Stdin)
	if err != nil || len(bytes.Trim(input, " \t\n\f\r")) == 0 {
		return nil
	}
	var req map[string]any
	if utf8.Valid(input) && json.Valid(input) {
		dec := json.NewDecoder(bytes.NewReader(input))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) == nil {
			req, _ = v.(map[string]any)
		}
	}
	if req == nil {
		fmt.Fprintf(os.Stderr, "%s: the request is not a JSON object\n", program)
		os.Exit(1)
	}
	params, _ := req["params"].(map[string]any)
	return params
}

// fibonacci returns F(n) as little-endian base-10^18 limbs, by plain iteration.
func fibonacci(n uint64) []uint64 {
	a, b := []uint64{0}, []uint64{1}
	for i := uint64(0); i < n; i++ {
		a, b = b, add(a, b)
	}
	return a
}

func add(x, y []uint64) []uint64 {
	size := max(len(x), len(y))
	sum := make([]uint64, 0, size+1)
	var carry uint64
	for i := 0; i < size; i++ {
		s := carry
		if i < len(x) {
			s += x[i]
		}
		if i < len(y) {
			s += y[i]
		}
		carry = s / limb
		sum = append(sum, s%limb)
	}
	if carry > 0 {
		sum = append(sum, carry)
	}
	return sum
}

func toDecimal(limbs []uint64) string {
	var b bytes.Buffer
	b.WriteString(strconv.FormatUint(limbs[len(limbs)-1], 10))
	for i := len(limbs) - 2; i >= 0; i-- {
		fmt.Fprintf(&b, "%018d", limbs[i])
	}
	return b.String()
}
