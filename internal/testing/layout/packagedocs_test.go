package layout

import (
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// root is the repository root, from this package's directory.
const root = "../../.."

// maxTokencacheDoc is how long pkg/tokencache's package comment may be, so
// that `go doc ./pkg/tokencache` fits on one screen with its index.
const maxTokencacheDoc = 30

// TestPackageComments checks that every package has one package comment, in
// doc.go, and that pkg/tokencache's fits maxTokencacheDoc lines.
func TestPackageComments(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{.Dir}} {{join .GoFiles \" \"}}", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	fset := token.NewFileSet()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for _, line := range lines {
		fields := strings.Fields(line)
		pkg, dir, files := strings.TrimPrefix(fields[0], module), fields[1], fields[2:]
		var with []string
		for _, f := range files {
			file, err := parser.ParseFile(fset, filepath.Join(dir, f), nil, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			if file.Doc != nil {
				with = append(with, f)
				if pkg == "pkg/tokencache" {
					if n := strings.Count(file.Doc.Text(), "\n"); n > maxTokencacheDoc {
						t.Errorf("pkg/tokencache's package comment is %d lines; keep it to %d (behaviour goes on the types, usage in examples)", n, maxTokencacheDoc)
					}
				}
			}
		}
		if !slices.Equal(with, []string{"doc.go"}) {
			t.Errorf("%s: package comments in %q; want exactly one, in doc.go", pkg, with)
		}
	}
	if len(lines) < 20 {
		t.Errorf("go list found %d packages; want the module's", len(lines))
	}
}

// TestTokencacheExamples checks that the examples the package comment of
// pkg/tokencache names exist, attach to the package or method they show,
// and are runnable (they have an // Output comment), so that pkgsite and
// `go doc -http` show and test them.
func TestTokencacheExamples(t *testing.T) {
	want := map[string][]string{
		"pkg/tokencache":                {"_lambda", "_ecs", "Source_TokenSource"},
		"pkg/tokencache/tokencachetest": {""},
	}
	for dir, names := range want {
		paths, err := filepath.Glob(filepath.Join(root, dir, "*_test.go"))
		if err != nil {
			t.Fatal(err)
		}
		fset := token.NewFileSet()
		var files []*ast.File
		for _, p := range paths {
			f, err := parser.ParseFile(fset, p, nil, parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		found := map[string]bool{}
		for _, ex := range doc.Examples(files...) {
			found[ex.Name] = ex.Output != "" || ex.EmptyOutput
		}
		for _, n := range names {
			runnable, ok := found[n]
			switch {
			case !ok:
				t.Errorf("%s has no Example%s", dir, n)
			case !runnable:
				t.Errorf("%s: Example%s has no // Output comment, so it is compiled but never run", dir, n)
			}
		}
	}
}
