package main

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"time"
)

const maxPageBytes = 1 << 20

// store keeps pages as <name>.md files in one directory.
type store struct {
	dir string
}

// pageInfo is what listings need to know about a page.
type pageInfo struct {
	name     string
	modified time.Time
	tags     []string
}

// validName allows what is safe as a file name and in a URL: [a-z0-9_-]{1,60}.
func validName(name string) bool {
	if name == "" || len(name) > 60 {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func (s *store) file(name string) string { return path.Join(s.dir, name+".md") }

func (s *store) read(name string) (string, error) {
	b, err := os.ReadFile(s.file(name))
	return string(b), err
}

func (s *store) exists(name string) bool {
	_, err := os.Stat(s.file(name))
	return err == nil
}

// write replaces a page through a temporary file and a rename, so a reader
// never sees half a page.
func (s *store) write(name, content string) error {
	tmp := path.Join(s.dir, "."+name+".md.tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, s.file(name)); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func (s *store) remove(name string) error {
	err := os.Remove(s.file(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func (s *store) rename(from, to string) error {
	if s.exists(to) {
		return errors.New("a page called " + to + " already exists")
	}
	return os.Rename(s.file(from), s.file(to))
}

// pages lists every page, sorted by name.
func (s *store) pages() ([]pageInfo, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	var list []pageInfo
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".md")
		if e.IsDir() || !ok || !validName(name) {
			continue
		}
		info := pageInfo{name: name}
		if fi, err := e.Info(); err == nil {
			info.modified = fi.ModTime()
		}
		if text, err := s.read(name); err == nil {
			info.tags, _ = splitTags(text)
		}
		list = append(list, info)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
	return list, nil
}

// splitTags takes a leading "tags: a, b" line off a page's text.
func splitTags(text string) (tags []string, rest string) {
	first, rest, _ := strings.Cut(text, "\n")
	if len(first) < 5 || !strings.EqualFold(first[:5], "tags:") {
		return nil, text
	}
	for _, t := range strings.Split(first[5:], ",") {
		if t = strings.ToLower(strings.TrimSpace(t)); t != "" {
			tags = append(tags, t)
		}
	}
	return tags, rest
}
