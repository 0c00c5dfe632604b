// cgi protocol, Go: an ordinary Go CGI program built on the standard library's net/http/cgi,
// which reads the CGI environment and stdin into an *http.Request and writes the handler's
// response as a CGI header block (always with a Status line, CRLF line ends). Below the route,
// /cookies answers 404 with two cookies, /redirect redirects with 303, and anything else
// describes the request as Go saw it, with the raw environment and arguments.
package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cgi"
	"os"
	"strings"
)

type description struct {
	Method        string              `json:"method"`
	URL           string              `json:"url"`
	Path          string              `json:"path"`
	Proto         string              `json:"proto"`
	Host          string              `json:"host"`
	RemoteAddr    string              `json:"remote_addr"`
	ContentLength int64               `json:"content_length"`
	Headers       map[string][]string `json:"headers"`
	Form          map[string][]string `json:"form"`
	BodyHex       string              `json:"body_hex"`
	Args          []string            `json:"args"`
	Env           map[string]string   `json:"env"`
}

func describe(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "cannot read the body: "+err.Error(), http.StatusInternalServerError)
		return
	}
	// The body was read above, so only the query reaches the form.
	if err := r.ParseForm(); err != nil {
		http.Error(w, "cannot parse the query: "+err.Error(), http.StatusBadRequest)
		return
	}
	env := map[string]string{}
	for _, entry := range os.Environ() {
		name, value, _ := strings.Cut(entry, "=")
		env[name] = value
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(description{
		Method: r.Method, URL: r.URL.String(), Path: r.URL.Path, Proto: r.Proto, Host: r.Host,
		RemoteAddr: r.RemoteAddr, ContentLength: r.ContentLength, Headers: r.Header, Form: r.Form,
		BodyHex: hex.EncodeToString(body), Args: os.Args, Env: env,
	})
}

func main() {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch strings.TrimPrefix(r.URL.Path, os.Getenv("SCRIPT_NAME")) {
		case "/cookies":
			http.SetCookie(w, &http.Cookie{Name: "first", Value: "1", Path: "/"})
			http.SetCookie(w, &http.Cookie{Name: "second", Value: "2", HttpOnly: true})
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintln(w, "nothing here, but two cookies")
		case "/redirect":
			http.Redirect(w, r, "/go/landing", http.StatusSeeOther)
		default:
			describe(w, r)
		}
	})
	if err := cgi.Serve(handler); err != nil {
		fmt.Fprintln(os.Stderr, "cgi:", err)
		os.Exit(1)
	}
}
