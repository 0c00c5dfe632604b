// wiki: a small wiki whose pages are Markdown files in a mounted directory.
//
//	GET  /wiki?page=home                 view a page (with its tags and backlinks)
//	GET  /wiki?list=true                 all pages, recent changes and tags
//	GET  /wiki?search=word               full-text search
//	GET  /wiki?tag=help                  pages with a tag ("tags: a, b" as first line)
//	GET  /wiki?page=x&edit=true          the editor (also how a page is created)
//	POST /wiki  page=x&content=...       save a page
//	POST /wiki  page=x&rename=true&new=y rename a page
//	POST /wiki  page=x&delete=true       delete a page
//
// Every link keeps &theme=dark|light. The pages directory is /wiki (WIKI_DIR
// overrides it); WIKI_READONLY=1 turns off every change.
//
// Changes need a POST. Hosts that do not send the request method (older
// WASIO versions) get the original behaviour, where the parameters alone
// decide, so the original's GET links keep working there.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// request is the part of the WASIO request this instrument reads.
type request struct {
	Params map[string]string `json:"params"`
	Method string            `json:"method"`
	Path   string            `json:"path"`
}

// wiki holds what every handler needs.
type wiki struct {
	store    *store
	base     string // the route's path, for links and form actions
	theme    string // "dark" or "" (light)
	readOnly bool
	out      strings.Builder
}

func main() {
	var req request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil && err != io.EOF {
		fmt.Fprintln(os.Stderr, "wiki: cannot decode request:", err)
		os.Exit(1)
	}
	p := req.Params
	dir := os.Getenv("WIKI_DIR")
	if dir == "" {
		dir = "/wiki"
	}
	w := &wiki{
		store:    &store{dir: dir},
		base:     "/wiki",
		readOnly: os.Getenv("WIKI_READONLY") == "1",
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		// A deployment mistake, not the visitor's: fail with a 500.
		fmt.Fprintf(os.Stderr, "wiki: no pages directory at %s (mount one there)\n", dir)
		os.Exit(1)
	}
	if strings.HasPrefix(req.Path, "/") {
		w.base = req.Path
	}
	if p["theme"] == "dark" {
		w.theme = "dark"
	}
	// A host that does not tell the method is an older one: trust the params.
	canChange := !w.readOnly && (req.Method == "" || strings.EqualFold(req.Method, "POST"))

	w.handle(p, canChange)
	os.Stdout.WriteString(w.out.String())
}

func (w *wiki) handle(p map[string]string, canChange bool) {
	name := strings.ToLower(strings.TrimSpace(p["page"]))
	if name == "" {
		name = "home"
	}
	content, hasContent := p["content"]

	switch {
	case p["list"] == "true":
		w.listPage()
	case p["search"] != "":
		w.searchPage(p["search"])
	case p["tag"] != "":
		w.tagPage(strings.ToLower(strings.TrimSpace(p["tag"])))
	case !validName(name):
		w.message("Invalid page name", "Page names use the letters a-z, digits, '-' and '_' (at most 60).")
	case w.readOnly && (hasContent || p["delete"] == "true" || p["rename"] == "true"):
		w.message("Read-only wiki", "This wiki cannot be changed.")
	case hasContent && canChange:
		w.save(name, content)
	case hasContent:
		// A save sent with GET: show it in the editor, for a POST.
		w.editor(name, content)
	case p["delete"] == "true" && canChange:
		w.remove(name)
	case p["delete"] == "true" && !w.readOnly:
		w.confirmDelete(name)
	case p["rename"] == "true" && canChange && p["new"] != "":
		w.rename(name, strings.ToLower(strings.TrimSpace(p["new"])))
	case p["rename"] == "true" && !w.readOnly:
		w.renameForm(name)
	case p["edit"] == "true" && !w.readOnly:
		text, _ := w.store.read(name)
		w.editor(name, text)
	default:
		w.view(name)
	}
}

func (w *wiki) save(name, content string) {
	content = strings.ReplaceAll(content, "\r\n", "\n") // browsers send CRLF
	if len(content) > maxPageBytes {
		w.message("Page too large", fmt.Sprintf("A page may hold at most %d bytes.", maxPageBytes))
		return
	}
	if err := w.store.write(name, content); err != nil {
		w.message("Cannot save the page", err.Error())
		return
	}
	w.redirect(w.link("page", name))
}

func (w *wiki) remove(name string) {
	if err := w.store.remove(name); err != nil {
		w.message("Cannot delete the page", err.Error())
		return
	}
	w.redirect(w.link("list", "true"))
}

func (w *wiki) rename(name, newName string) {
	if !validName(newName) {
		w.message("Invalid page name", "Page names use the letters a-z, digits, '-' and '_' (at most 60).")
		return
	}
	if err := w.store.rename(name, newName); err != nil {
		w.message("Cannot rename the page", err.Error())
		return
	}
	w.redirect(w.link("page", newName))
}
