// hello_world greets the caller and shows the request's seed.
//
//	GET /hello_world?name=Alice  ->  Hello, Alice! (seed: -4233125112876243210)
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// payload is the part of the WASIO request this instrument reads. The seed
// is decoded straight into an int64 so that all 64 bits survive.
type payload struct {
	Params map[string]string `json:"params"`
	Seed   int64             `json:"seed"`
}

func main() {
	var p payload
	if err := json.NewDecoder(os.Stdin).Decode(&p); err != nil && err != io.EOF {
		// A malformed request is the host's fault: fail, so it becomes a 500.
		fmt.Fprintln(os.Stderr, "hello_world: cannot decode request:", err)
		os.Exit(1)
	}
	name := p.Params["name"]
	if name == "" {
		name = "World"
	}
	fmt.Printf("Hello, %s! (seed: %d)\n", name, p.Seed)
}
