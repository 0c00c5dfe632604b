// wasio protocol, Go: decodes the request document with encoding/json the way an instrument
// would, and answers with what it understood: the request's fields, the seed's exact digits,
// and the body as bytes (decoded from body or body_base64) in hex, so a test can check that
// text and binary bodies both arrive intact.
package main

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
)

type file struct {
	Field       string `json:"field"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

type request struct {
	Seed       json.Number         `json:"seed"`
	Params     map[string]string   `json:"params"`
	Method     string              `json:"method"`
	Path       string              `json:"path"`
	Route      string              `json:"route"`
	Query      map[string][]string `json:"query"`
	PathParams map[string]string   `json:"path_params"`
	Headers    map[string]string   `json:"headers"`
	Files      []file              `json:"files"`
	Body       *string             `json:"body"`
	BodyBase64 *string             `json:"body_base64"`
}

type answer struct {
	Language   string              `json:"language"`
	Seed       string              `json:"seed"`
	Params     map[string]string   `json:"params"`
	Method     string              `json:"method"`
	Path       string              `json:"path"`
	Route      string              `json:"route"`
	Query      map[string][]string `json:"query"`
	PathParams map[string]string   `json:"path_params"`
	Headers    map[string]string   `json:"headers"`
	Files      []file              `json:"files"`
	BodyField  string              `json:"body_field"`
	BodyHex    string              `json:"body_hex"`
}

func main() {
	decoder := json.NewDecoder(os.Stdin)
	decoder.UseNumber()
	var req request
	if err := decoder.Decode(&req); err != nil {
		fmt.Fprintln(os.Stderr, "cannot decode the request:", err)
		os.Exit(1)
	}
	var body []byte
	field := "none"
	switch {
	case req.Body != nil:
		body, field = []byte(*req.Body), "body"
	case req.BodyBase64 != nil:
		decoded, err := base64.StdEncoding.DecodeString(*req.BodyBase64)
		if err != nil {
			fmt.Fprintln(os.Stderr, "body_base64 is not base64:", err)
			os.Exit(1)
		}
		body, field = decoded, "body_base64"
	}
	out := answer{
		Language: "go", Seed: req.Seed.String(), Params: req.Params, Method: req.Method, Path: req.Path,
		Route: req.Route, Query: req.Query, PathParams: req.PathParams, Headers: req.Headers, Files: req.Files,
		BodyField: field, BodyHex: hex.EncodeToString(body),
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(1)
	}
}
