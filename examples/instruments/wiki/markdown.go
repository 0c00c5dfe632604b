package main

import (
	"html"
	"strings"
)

// The Markdown subset the wiki renders: # headings, paragraphs, - and 1.
// lists, > quotes, ``` code blocks, --- rules, **bold**, *italic*, `code`,
// [text](url) and [[Page]] / [[Page|label]] wiki links. Everything is
// HTML-escaped first, so page text can never inject markup or scripts.

// linker turns a wiki link target into an href, and says if the page exists.
type linker func(page string) (href string, exists bool)

// pageTarget normalises a wiki link target to a page name: "My Page" -> "my-page".
func pageTarget(target string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(target), " ", "-"))
}

// wikiLinks lists the pages a text links to.
func wikiLinks(text string) []string {
	var targets []string
	for {
		i := strings.Index(text, "[[")
		if i < 0 {
			return targets
		}
		j := strings.Index(text[i:], "]]")
		if j < 0 {
			return targets
		}
		target, _, _ := strings.Cut(text[i+2:i+j], "|")
		targets = append(targets, pageTarget(target))
		text = text[i+j+2:]
	}
}

// title returns the text of the first "# " heading, if any.
func title(text string) string {
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "# ") {
			return strings.TrimSpace(line[2:])
		}
	}
	return ""
}

// renderMarkdown converts a page's text to HTML. The first "# " heading is
// left out: the page layout shows it as the title.
func renderMarkdown(text string, link linker) string {
	var b strings.Builder
	lines := strings.Split(text, "\n")
	titleSeen := false
	var para []string
	flush := func() {
		if len(para) > 0 {
			b.WriteString("<p>" + inline(strings.Join(para, "\n"), link) + "</p>\n")
			para = nil
		}
	}
	for i := 0; i < len(lines); i++ {
		line := strings.TrimRight(lines[i], " \t\r")
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "":
			flush()
		case strings.HasPrefix(trimmed, "```"):
			flush()
			var code []string
			for i++; i < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[i]), "```"); i++ {
				code = append(code, lines[i])
			}
			b.WriteString("<pre><code>" + html.EscapeString(strings.Join(code, "\n")) + "</code></pre>\n")
		case headingLevel(trimmed) > 0:
			flush()
			n := headingLevel(trimmed)
			if n == 1 && !titleSeen {
				titleSeen = true
				continue
			}
			tag := string(rune('0' + n))
			b.WriteString("<h" + tag + ">" + inline(strings.TrimSpace(trimmed[n:]), link) + "</h" + tag + ">\n")
		case trimmed == "---" || trimmed == "***" || trimmed == "___":
			flush()
			b.WriteString("<hr>\n")
		case strings.HasPrefix(trimmed, ">"):
			flush()
			var quote []string
			for ; i < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[i]), ">"); i++ {
				quote = append(quote, strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(lines[i]), ">")))
			}
			i--
			b.WriteString("<blockquote><p>" + inline(strings.Join(quote, "\n"), link) + "</p></blockquote>\n")
		case listItem(trimmed) != "":
			flush()
			tag := listItem(trimmed)
			b.WriteString("<" + tag + ">\n")
			var items []string
			for ; i < len(lines); i++ {
				next := strings.TrimSpace(lines[i])
				if listItem(next) == tag {
					items = append(items, itemText(next))
				} else if next != "" && listItem(next) == "" && strings.HasPrefix(lines[i], " ") {
					items[len(items)-1] += "\n" + next // an indented line continues the item
				} else {
					break
				}
			}
			i--
			for _, item := range items {
				b.WriteString("<li>" + inline(item, link) + "</li>\n")
			}
			b.WriteString("</" + tag + ">\n")
		default:
			para = append(para, trimmed)
		}
	}
	flush()
	return b.String()
}

// headingLevel is n for a line starting with n '#' (1-6) and a space.
func headingLevel(line string) int {
	n := 0
	for n < len(line) && line[n] == '#' {
		n++
	}
	if n == 0 || n > 6 || n >= len(line) || line[n] != ' ' {
		return 0
	}
	return n
}

// listItem tells whether a line is a list item: "ul", "ol" or "".
func listItem(line string) string {
	if len(line) > 2 && strings.ContainsRune("-*+", rune(line[0])) && line[1] == ' ' {
		return "ul"
	}
	digits := 0
	for digits < len(line) && line[digits] >= '0' && line[digits] <= '9' {
		digits++
	}
	if digits > 0 && strings.HasPrefix(line[digits:], ". ") {
		return "ol"
	}
	return ""
}

func itemText(line string) string {
	if listItem(line) == "ul" {
		return line[2:]
	}
	_, text, _ := strings.Cut(line, ". ")
	return text
}

// inline renders the inline elements of a block's text.
func inline(s string, link linker) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		rest := s[i:]
		switch {
		case rest[0] == '`':
			if j := strings.IndexByte(rest[1:], '`'); j >= 0 {
				b.WriteString("<code>" + html.EscapeString(rest[1:1+j]) + "</code>")
				i += j + 2
				continue
			}
		case strings.HasPrefix(rest, "[["):
			if j := strings.Index(rest, "]]"); j > 2 {
				target, label, hasLabel := strings.Cut(rest[2:j], "|")
				if !hasLabel {
					label = target
				}
				page := pageTarget(target)
				href, exists := link(page)
				class := ""
				if !exists {
					class = ` class="missing" title="This page does not exist yet"`
				}
				b.WriteString(`<a href="` + html.EscapeString(href) + `"` + class + `>` + html.EscapeString(strings.TrimSpace(label)) + `</a>`)
				i += j + 2
				continue
			}
		case rest[0] == '[':
			if j := strings.Index(rest, "]("); j > 0 {
				if k := closingParen(rest[j+2:]); k >= 0 {
					k += 2 // from "](" on
					url := strings.TrimSpace(rest[j+2 : j+k])
					b.WriteString(`<a href="` + html.EscapeString(safeURL(url)) + `">` + inline(rest[1:j], link) + `</a>`)
					i += j + k + 1
					continue
				}
			}
		case strings.HasPrefix(rest, "**"):
			if j := strings.Index(rest[2:], "**"); j > 0 {
				b.WriteString("<strong>" + inline(rest[2:2+j], link) + "</strong>")
				i += j + 4
				continue
			}
		case rest[0] == '*' || rest[0] == '_':
			// '_' only counts at word edges, so snake_case stays as it is.
			c := rest[0]
			if j := strings.IndexByte(rest[1:], c); j > 0 && (c == '*' || emphasisEdges(s, i, i+1+j)) {
				b.WriteString("<em>" + inline(rest[1:1+j], link) + "</em>")
				i += j + 2
				continue
			}
		}
		b.WriteString(html.EscapeString(rest[:1]))
		i++
	}
	return b.String()
}

// closingParen finds the ')' that ends a link's URL, allowing balanced
// parentheses inside it (as in Wikipedia URLs).
func closingParen(s string) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			if depth == 0 {
				return i
			}
			depth--
		}
	}
	return -1
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

func emphasisEdges(s string, open, close int) bool {
	return (open == 0 || !isWordByte(s[open-1])) && (close+1 >= len(s) || !isWordByte(s[close+1]))
}

// safeURL lets through web, mail and relative links; anything else (such as
// javascript:) becomes a dead link.
func safeURL(url string) string {
	lower := strings.ToLower(url)
	for _, ok := range []string{"http://", "https://", "mailto:", "/", "#", "?", "./", "../"} {
		if strings.HasPrefix(lower, ok) {
			return url
		}
	}
	if colon := strings.IndexByte(url, ':'); colon < 0 || strings.ContainsAny(url[:colon], "/?#") {
		return url // relative
	}
	return "#"
}
