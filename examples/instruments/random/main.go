// random draws a number from 0 to 99, determined by the request's seed.
//
// It uses math/rand's seeded source, so a given seed yields the same number
// as the original Go WASIO instrument did.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"os"
)

type payload struct {
	Seed int64 `json:"seed"`
}

func main() {
	var p payload
	if err := json.NewDecoder(os.Stdin).Decode(&p); err != nil && err != io.EOF {
		fmt.Fprintln(os.Stderr, "random: cannot decode request:", err)
		os.Exit(1)
	}
	r := rand.New(rand.NewSource(p.Seed))
	fmt.Printf("Generated Random Number: %d\n", r.Intn(100))
}
