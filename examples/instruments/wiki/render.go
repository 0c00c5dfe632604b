package main

import (
	"html"
	"net/url"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

const style = `
:root { --bg: #fff; --fg: #1f2328; --muted: #6b7280; --line: #d8dde3; --side: #f5f7fa; --link: #0b62c4; --missing: #c4380b; --code: #f0f2f5; --mark: #fff1a8; }
body.dark { --bg: #16181c; --fg: #e3e6ea; --muted: #9aa3ad; --line: #33383f; --side: #1d2025; --link: #6cb0ff; --missing: #ff8a5c; --code: #262a30; --mark: #5c4d00; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 16px/1.55 system-ui, sans-serif; }
a { color: var(--link); text-decoration: none; }
a:hover { text-decoration: underline; }
a.missing { color: var(--missing); border-bottom: 1px dashed; }
header { display: flex; flex-wrap: wrap; gap: .75rem; align-items: center; padding: .6rem 1.25rem; border-bottom: 1px solid var(--line); }
header .brand { font-weight: 700; font-size: 1.1rem; margin-right: auto; color: var(--fg); }
input, textarea, button { font: inherit; color: var(--fg); background: var(--bg); border: 1px solid var(--line); border-radius: .35rem; padding: .35rem .6rem; }
button, .button { cursor: pointer; background: var(--link); color: #fff; border: 0; border-radius: .35rem; padding: .38rem .9rem; display: inline-block; }
.button.secondary, button.secondary { background: var(--side); color: var(--fg); border: 1px solid var(--line); }
button.danger { background: #c42b1c; }
.layout { display: flex; min-height: calc(100vh - 3.2rem); }
nav { width: 14rem; flex: none; background: var(--side); border-right: 1px solid var(--line); padding: 1rem 1.25rem; }
nav ul { list-style: none; margin: 0; padding: 0; }
nav li a.current { font-weight: 700; color: var(--fg); }
main { flex: 1; min-width: 0; padding: 1rem 2rem 3rem; max-width: 52rem; }
pre, code { background: var(--code); border-radius: .3rem; font: .9em ui-monospace, monospace; }
code { padding: .1em .3em; }
pre { padding: .8rem 1rem; overflow-x: auto; }
pre code { padding: 0; background: none; }
blockquote { margin: 0; padding: .1rem 1rem; border-left: 4px solid var(--line); color: var(--muted); }
textarea { width: 100%; min-height: 24rem; font: .95em/1.5 ui-monospace, monospace; }
mark { background: var(--mark); color: inherit; }
.tags a { display: inline-block; font-size: .85rem; padding: .05rem .55rem; margin: 0 .3rem .3rem 0; border: 1px solid var(--line); border-radius: 1rem; }
.muted { color: var(--muted); font-size: .9rem; }
.actions { margin-top: 2rem; display: flex; gap: .5rem; flex-wrap: wrap; align-items: center; }
.actions form { display: inline; }
@media (max-width: 40rem) { .layout { display: block; } nav { width: auto; border-right: 0; border-bottom: 1px solid var(--line); } main { padding: 1rem; } }
`

// esc escapes text for HTML content and attribute values.
var esc = html.EscapeString

// link builds a URL of this route from key/value pairs, keeping the theme.
func (w *wiki) link(kv ...string) string {
	var q []string
	for i := 0; i+1 < len(kv); i += 2 {
		q = append(q, url.QueryEscape(kv[i])+"="+url.QueryEscape(kv[i+1]))
	}
	if w.theme != "" {
		q = append(q, "theme="+w.theme)
	}
	if len(q) == 0 {
		return w.base
	}
	return w.base + "?" + strings.Join(q, "&")
}

// hidden keeps the theme across a form submission.
func (w *wiki) hidden() string {
	if w.theme == "" {
		return ""
	}
	return `<input type="hidden" name="theme" value="` + w.theme + `">`
}

func (w *wiki) pageLinker(pages []pageInfo) linker {
	known := map[string]bool{}
	for _, p := range pages {
		known[p.name] = true
	}
	return func(page string) (string, bool) {
		return w.link("page", page), known[page]
	}
}

// layout writes a complete page: header, sidebar with all pages, then body.
func (w *wiki) layout(heading, current, body string, pages []pageInfo) {
	o := &w.out
	o.WriteString(`<!DOCTYPE html>` + "\n" + `<html lang="en"><head><meta charset="utf-8">`)
	o.WriteString(`<meta name="viewport" content="width=device-width, initial-scale=1">`)
	o.WriteString(`<title>` + esc(heading) + ` · Wiki</title><style>` + style)
	// An optional _style.css in the pages directory adjusts the look.
	if css, err := os.ReadFile(path.Join(w.store.dir, "_style.css")); err == nil {
		o.WriteString(strings.ReplaceAll(string(css), "</", `<\/`))
	}
	o.WriteString(`</style></head>`)
	if w.theme == "dark" {
		o.WriteString(`<body class="dark"><header>`)
	} else {
		o.WriteString(`<body><header>`)
	}
	o.WriteString(`<a class="brand" href="` + esc(w.link()) + `">Wiki</a>`)
	o.WriteString(`<form method="get" action="` + esc(w.base) + `">` + w.hidden() +
		`<input type="search" name="search" placeholder="Search…" aria-label="Search"></form>`)
	o.WriteString(`<a href="` + esc(w.link("list", "true")) + `">All pages</a>`)
	if !w.readOnly {
		o.WriteString(`<form method="get" action="` + esc(w.base) + `">` + w.hidden() +
			`<input type="hidden" name="edit" value="true"><input name="page" placeholder="new-page" aria-label="New page name" size="10" pattern="[a-z0-9_\-]{1,60}" required> <button class="secondary">Create</button></form>`)
	}
	other, label := "dark", "Dark"
	if w.theme == "dark" {
		other, label = "light", "Light"
	}
	toggle := w.base + "?page=" + url.QueryEscape(current) + "&theme=" + other
	if current == "" {
		toggle = w.base + "?list=true&theme=" + other
	}
	o.WriteString(`<a href="` + esc(toggle) + `">` + label + `</a></header><div class="layout"><nav><ul>`)
	for _, p := range pages {
		class := ""
		if p.name == current {
			class = ` class="current"`
		}
		o.WriteString(`<li><a` + class + ` href="` + esc(w.link("page", p.name)) + `">` + esc(p.name) + `</a></li>`)
	}
	o.WriteString(`</ul></nav><main><h1>` + esc(heading) + `</h1>` + body + "</main></div></body></html>\n")
}

// pagesOrEmpty lists the pages; a failure shows as an empty wiki.
func (w *wiki) pagesOrEmpty() []pageInfo {
	pages, _ := w.store.pages()
	return pages
}

func (w *wiki) view(name string) {
	pages := w.pagesOrEmpty()
	text, err := w.store.read(name)
	if err != nil {
		body := `<p>There is no page called <strong>` + esc(name) + `</strong> yet.</p>`
		if !w.readOnly {
			body += `<p><a class="button" href="` + esc(w.link("page", name, "edit", "true")) + `">Create it</a></p>`
		}
		w.layout("Page not found", name, body, pages)
		return
	}
	tags, rest := splitTags(text)
	heading := title(rest)
	if heading == "" {
		heading = name
	}
	var b strings.Builder
	if len(tags) > 0 {
		b.WriteString(`<p class="tags">`)
		for _, t := range tags {
			b.WriteString(`<a href="` + esc(w.link("tag", t)) + `">` + esc(t) + `</a>`)
		}
		b.WriteString(`</p>`)
	}
	b.WriteString(renderMarkdown(rest, w.pageLinker(pages)))

	// Backlinks: every other page with a [[link]] to this one.
	var backlinks []string
	for _, p := range pages {
		if p.name == name {
			continue
		}
		other, _ := w.store.read(p.name)
		for _, target := range wikiLinks(other) {
			if target == name {
				backlinks = append(backlinks, p.name)
				break
			}
		}
	}
	if len(backlinks) > 0 {
		b.WriteString(`<h2>Linked from</h2><ul>`)
		for _, p := range backlinks {
			b.WriteString(`<li><a href="` + esc(w.link("page", p)) + `">` + esc(p) + `</a></li>`)
		}
		b.WriteString(`</ul>`)
	}
	if !w.readOnly {
		b.WriteString(`<div class="actions"><a class="button" href="` + esc(w.link("page", name, "edit", "true")) + `">Edit</a>`)
		b.WriteString(`<a class="button secondary" href="` + esc(w.link("page", name, "rename", "true")) + `">Rename</a>`)
		b.WriteString(`<a class="button secondary" href="` + esc(w.link("page", name, "delete", "true")) + `">Delete</a></div>`)
	}
	w.layout(heading, name, b.String(), pages)
}

func (w *wiki) editor(name, text string) {
	verb := "Edit"
	if !w.store.exists(name) {
		verb = "Create"
	}
	body := `<form method="post" action="` + esc(w.base) + `">` + w.hidden() +
		`<input type="hidden" name="page" value="` + esc(name) + `">` +
		`<p class="muted">Markdown: # Heading, **bold**, *italic*, ` + "`code`" + `, [text](https://…), [[other-page]], - lists. ` +
		`A first line "tags: a, b" tags the page.</p>` +
		`<textarea name="content" autofocus>` + esc(text) + `</textarea>` +
		`<div class="actions"><button>Save</button><a class="button secondary" href="` + esc(w.link("page", name)) + `">Cancel</a></div></form>`
	w.layout(verb+" "+name, name, body, w.pagesOrEmpty())
}

func (w *wiki) confirmDelete(name string) {
	body := `<p>Delete the page <strong>` + esc(name) + `</strong>? This cannot be undone.</p>` +
		`<form method="post" action="` + esc(w.base) + `" class="actions">` + w.hidden() +
		`<input type="hidden" name="page" value="` + esc(name) + `"><input type="hidden" name="delete" value="true">` +
		`<button class="danger">Delete</button> <a class="button secondary" href="` + esc(w.link("page", name)) + `">Cancel</a></form>`
	w.layout("Delete "+name, name, body, w.pagesOrEmpty())
}

func (w *wiki) renameForm(name string) {
	body := `<form method="post" action="` + esc(w.base) + `">` + w.hidden() +
		`<input type="hidden" name="page" value="` + esc(name) + `"><input type="hidden" name="rename" value="true">` +
		`<p><label>New name: <input name="new" value="` + esc(name) + `" pattern="[a-z0-9_\-]{1,60}" required></label></p>` +
		`<p class="muted">Links to the old name are not changed.</p>` +
		`<div class="actions"><button>Rename</button><a class="button secondary" href="` + esc(w.link("page", name)) + `">Cancel</a></div></form>`
	w.layout("Rename "+name, name, body, w.pagesOrEmpty())
}

func (w *wiki) listPage() {
	pages := w.pagesOrEmpty()
	var b strings.Builder
	if len(pages) == 0 {
		b.WriteString(`<p>No pages yet.</p>`)
	} else {
		b.WriteString(`<ul>`)
		for _, p := range pages {
			b.WriteString(`<li><a href="` + esc(w.link("page", p.name)) + `">` + esc(p.name) + `</a></li>`)
		}
		b.WriteString(`</ul>`)

		recent := append([]pageInfo(nil), pages...)
		sort.SliceStable(recent, func(i, j int) bool { return recent[i].modified.After(recent[j].modified) })
		b.WriteString(`<h2>Recently changed</h2><ul>`)
		for i := 0; i < len(recent) && i < 5; i++ {
			b.WriteString(`<li><a href="` + esc(w.link("page", recent[i].name)) + `">` + esc(recent[i].name) +
				`</a> <span class="muted">` + recent[i].modified.UTC().Format("2006-01-02 15:04") + ` UTC</span></li>`)
		}
		b.WriteString(`</ul>`)
	}
	counts := map[string]int{}
	for _, p := range pages {
		for _, t := range p.tags {
			counts[t]++
		}
	}
	if len(counts) > 0 {
		tags := make([]string, 0, len(counts))
		for t := range counts {
			tags = append(tags, t)
		}
		sort.Strings(tags)
		b.WriteString(`<h2>Tags</h2><p class="tags">`)
		for _, t := range tags {
			b.WriteString(`<a href="` + esc(w.link("tag", t)) + `">` + esc(t) + ` (` + strconv.Itoa(counts[t]) + `)</a>`)
		}
		b.WriteString(`</p>`)
	}
	w.layout("All pages", "", b.String(), pages)
}

func (w *wiki) tagPage(tag string) {
	pages := w.pagesOrEmpty()
	var b strings.Builder
	for _, p := range pages {
		for _, t := range p.tags {
			if t == tag {
				b.WriteString(`<li><a href="` + esc(w.link("page", p.name)) + `">` + esc(p.name) + `</a></li>`)
				break
			}
		}
	}
	body := `<p>No pages have this tag.</p>`
	if b.Len() > 0 {
		body = `<ul>` + b.String() + `</ul>`
	}
	w.layout("Tag: "+tag, "", body, pages)
}

func (w *wiki) searchPage(query string) {
	pages := w.pagesOrEmpty()
	needle := []rune(query)
	for i, r := range needle {
		needle[i] = unicode.ToLower(r)
	}
	var b strings.Builder
	found := 0
	for _, p := range pages {
		text, _ := w.store.read(p.name)
		runes := []rune(text)
		at := indexFold(runes, needle)
		if at < 0 && !strings.Contains(p.name, string(needle)) {
			continue
		}
		found++
		b.WriteString(`<li><a href="` + esc(w.link("page", p.name)) + `">` + esc(p.name) + `</a>`)
		if at >= 0 {
			// Some context on both sides of the first match.
			from, to := max(at-40, 0), min(at+len(needle)+40, len(runes))
			b.WriteString(`<br><span class="muted">…` + esc(string(runes[from:at])) + `<mark>` +
				esc(string(runes[at:at+len(needle)])) + `</mark>` + esc(string(runes[at+len(needle):to])) + `…</span>`)
		}
		b.WriteString(`</li>`)
	}
	body := `<p>No pages match.</p>`
	if found > 0 {
		body = `<p class="muted">` + strconv.Itoa(found) + ` page(s) found.</p><ul>` + b.String() + `</ul>`
	}
	w.layout("Search: "+query, "", body, pages)
}

// indexFold finds needle (lower-cased rune by rune) in text, ignoring case, and
// returns the rune index of the first match or -1.
func indexFold(text, needle []rune) int {
	if len(needle) == 0 {
		return -1
	}
outer:
	for i := 0; i+len(needle) <= len(text); i++ {
		for j, r := range needle {
			if unicode.ToLower(text[i+j]) != r {
				continue outer
			}
		}
		return i
	}
	return -1
}

// message shows a short notice (usually why something did not work).
func (w *wiki) message(heading, text string) {
	w.layout(heading, "", `<p>`+esc(text)+`</p><p><a href="`+esc(w.link())+`">Back to the wiki</a></p>`, w.pagesOrEmpty())
}

// redirect sends the browser on after a change. The instrument cannot set a
// status or a Location header, so a refresh tag does the job.
func (w *wiki) redirect(to string) {
	w.out.WriteString(`<!DOCTYPE html>` + "\n" + `<html><head><meta http-equiv="refresh" content="0;url=` + esc(to) +
		`"><title>Redirecting</title></head><body><p><a href="` + esc(to) + `">Continue</a></p></body></html>` + "\n")
}
