package layout

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// markdownFiles are the documents whose links and test names are checked:
// the README and docs/*.md.
func markdownFiles(t *testing.T) []string {
	t.Helper()
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) == 0 {
		t.Fatal("docs/ holds no Markdown file")
	}
	return append([]string{filepath.Join(root, "README.md")}, docs...)
}

var (
	mdLink  = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	heading = regexp.MustCompile(`(?m)^#{1,6}\s+(.+?)\s*$`)
	// docsRef is a reference to a docs file outside Markdown: go.mod and
	// Go comments point to docs/<name>.md#<anchor>.
	docsRef  = regexp.MustCompile(`\bdocs/[a-z0-9-]+\.md(#[a-z0-9-]+)?`)
	testName = regexp.MustCompile("`((?:Test|Fuzz|Benchmark|Example)[A-Z][A-Za-z0-9_]*)")
)

// slug is GitHub's anchor for a Markdown heading.
func slug(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteRune('-')
		}
	}
	return b.String()
}

// anchors returns the heading anchors of a Markdown file.
func anchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	inFence := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "```") {
			inFence = !inFence
		}
		if m := heading.FindStringSubmatch(line); m != nil && !inFence {
			out[slug(m[1])] = true
		}
	}
	return out
}

// checkTarget reports what is wrong with a link target relative to dir:
// a missing file, or an anchor that no heading of the target has.
func checkTarget(t *testing.T, dir, target string) string {
	file, anchor, _ := strings.Cut(target, "#")
	path := filepath.Join(dir, file)
	if file == "" {
		return "empty path"
	}
	if _, err := os.Stat(path); err != nil {
		return "no such file or directory"
	}
	if anchor != "" {
		if !strings.HasSuffix(file, ".md") {
			return "an anchor into a file that is not Markdown"
		}
		if !anchors(t, path)[anchor] {
			return "no heading makes the anchor #" + anchor
		}
	}
	return ""
}

func TestSlug(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"Bootstrap size and the held SDK clients", "bootstrap-size-and-the-held-sdk-clients"},
		{"make sam-check", "make-sam-check"},
		{"Profiles, secrets and `token` requests", "profiles-secrets-and-token-requests"},
	} {
		if got := slug(tt.in); got != tt.want {
			t.Errorf("slug(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

// TestMarkdownLinksResolve checks every relative link of the README and
// docs/*.md: the file exists and, for an anchor, a heading makes it.
func TestMarkdownLinksResolve(t *testing.T) {
	links := 0
	for _, path := range markdownFiles(t) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, m := range mdLink.FindAllStringSubmatch(line, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				links++
				if strings.HasPrefix(target, "#") {
					target = filepath.Base(path) + target
				}
				if problem := checkTarget(t, filepath.Dir(path), target); problem != "" {
					t.Errorf("%s line %d: link %s: %s", rel(path), i+1, m[1], problem)
				}
			}
		}
	}
	if links == 0 {
		t.Error("found no relative link; the pattern is broken")
	}
}

// TestDocsReferencesResolve checks the docs/<file>.md#<anchor> references
// written outside Markdown: in go.mod and in Go files.
func TestDocsReferencesResolve(t *testing.T) {
	refs := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != root || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !(strings.HasSuffix(path, ".go") || d.Name() == "go.mod") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, ref := range docsRef.FindAllString(line, -1) {
				refs++
				if problem := checkTarget(t, root, ref); problem != "" {
					t.Errorf("%s line %d: %s: %s", rel(path), i+1, ref, problem)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if refs == 0 {
		t.Error("found no docs/ reference; go.mod has at least one")
	}
}

// TestCitedTestsExist checks that every test, fuzz target, benchmark or
// example the README and docs/ name in backquotes exists.
func TestCitedTestsExist(t *testing.T) {
	funcs := map[string]bool{}
	decl := regexp.MustCompile(`(?m)^func ((?:Test|Fuzz|Benchmark|Example)[A-Za-z0-9_]*)\(`)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != root {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range decl.FindAllStringSubmatch(string(b), -1) {
			funcs[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cited := 0
	for _, path := range markdownFiles(t) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range testName.FindAllStringSubmatch(string(b), -1) {
			cited++
			if !funcs[m[1]] {
				t.Errorf("%s names %s, which no _test.go file declares", rel(path), m[1])
			}
		}
	}
	if cited == 0 {
		t.Error("the README and docs/ name no test; the pattern is broken")
	}
}

func rel(path string) string {
	r, err := filepath.Rel(root, path)
	if err != nil {
		return path
	}
	return filepath.ToSlash(r)
}
