// hash_utils hashes and encodes the text in ?input=.
//
//	?op=md5|sha1|sha256|sha512             a hex digest
//	?op=base64encode|base64decode          standard Base64 (with padding)
//	?op=hexencode|hexdecode                lower-case hex
//	?op=all                                every digest and encoding at once
package main

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
)

type payload struct {
	Params map[string]string `json:"params"`
}

const operations = "md5, sha1, sha256, sha512, base64encode, base64decode, hexencode, hexdecode, all"

// digests lists the hash functions in the order "all" prints them.
var digests = []struct {
	name string
	new  func() hash.Hash
}{
	{"MD5", md5.New},
	{"SHA1", sha1.New},
	{"SHA256", sha256.New},
	{"SHA512", sha512.New},
}

func digest(newHash func() hash.Hash, data []byte) string {
	h := newHash()
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

func main() {
	var p payload
	if err := json.NewDecoder(os.Stdin).Decode(&p); err != nil && err != io.EOF {
		fmt.Fprintln(os.Stderr, "hash_utils: cannot decode request:", err)
		os.Exit(1)
	}
	input := p.Params["input"]
	op := strings.ToLower(p.Params["op"])
	if input == "" {
		fmt.Println("Usage: /hash_utils?op=sha256&input=hello")
		fmt.Printf("Operations: %s\n", operations)
		return
	}
	data := []byte(input)

	switch op {
	case "md5", "sha1", "sha256", "sha512":
		for _, d := range digests {
			if strings.ToLower(d.name) == op {
				fmt.Printf("%s: %s\n", d.name, digest(d.new, data))
			}
		}
	case "base64encode", "b64encode":
		fmt.Printf("Base64 encoded: %s\n", base64.StdEncoding.EncodeToString(data))
	case "base64decode", "b64decode":
		decoded, err := base64.StdEncoding.DecodeString(input)
		if err != nil {
			fmt.Printf("Error decoding base64: %v\n", err)
			return
		}
		fmt.Printf("Base64 decoded: %s\n", decoded)
	case "hexencode":
		fmt.Printf("Hex encoded: %s\n", hex.EncodeToString(data))
	case "hexdecode":
		decoded, err := hex.DecodeString(input)
		if err != nil {
			fmt.Printf("Error decoding hex: %v\n", err)
			return
		}
		fmt.Printf("Hex decoded: %s\n", decoded)
	case "all":
		fmt.Printf("Input: %s\n", input)
		fmt.Printf("Length: %d bytes\n\n", len(data))
		for _, d := range digests {
			fmt.Printf("%s: %s\n", d.name, digest(d.new, data))
		}
		fmt.Printf("\nEncodings:\n")
		fmt.Printf("Base64: %s\n", base64.StdEncoding.EncodeToString(data))
		fmt.Printf("Hex: %s\n", hex.EncodeToString(data))
	default:
		fmt.Printf("Error: unsupported operation '%s'\n", op)
		fmt.Printf("Operations: %s\n", operations)
	}
}
