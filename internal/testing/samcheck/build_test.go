package samcheck

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// samTemplate is the part of a SAM template the check reads.
type samTemplate struct {
	Parameters map[string]struct {
		AllowedValues []string `yaml:"AllowedValues"`
	} `yaml:"Parameters"`
	Resources map[string]struct {
		Type       string         `yaml:"Type"`
		Metadata   map[string]any `yaml:"Metadata"`
		Properties struct {
			CodeURI     any `yaml:"CodeUri"`
			TemplateURL any `yaml:"TemplateURL"`
			Environment struct {
				Variables map[string]any `yaml:"Variables"`
			} `yaml:"Environment"`
		} `yaml:"Properties"`
	} `yaml:"Resources"`
}

func readTemplate(t *testing.T, path string) samTemplate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tpl samTemplate
	if err := yaml.Unmarshal(b, &tpl); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return tpl
}

// loadFunctions returns the functions of the template at path, by logical
// id.
func loadFunctions(t *testing.T, path string) map[string]function {
	t.Helper()
	tpl := readTemplate(t, path)
	fns := map[string]function{}
	for id, r := range tpl.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		uri, _ := r.Properties.CodeURI.(string)
		method, _ := r.Metadata["BuildMethod"].(string)
		_, profiles := r.Properties.Environment.Variables["PROFILES_FILE"]
		fns[id] = function{codeURI: uri, buildMethod: method, hasProfiles: profiles}
	}
	if len(fns) == 0 {
		t.Fatalf("%s has no AWS::Serverless::Function", path)
	}
	return fns
}

func (s *session) build(t *testing.T, c Command) {
	envs := s.forEnvs(t, c)
	for _, env := range targets(envs) {
		start := time.Now()
		out := s.run(t, nil, withEnv(c, env)...)
		if !strings.Contains(out, "Build Succeeded") {
			t.Fatalf("sam %s printed no \"Build Succeeded\":\n%s", strings.Join(withEnv(c, env), " "), out)
		}
		if env == "" {
			env, _ = c.Flag("--config-env")
		}
		s.checkBuild(t, out, start, s.layout(t, env))
	}
	s.report.prove("README line %d: `%s` for %s runs `make build-<LogicalId>` in the repository "+
		"(build_in_source) with ARTIFACTS_DIR=<build folder>/<LogicalId> (.aws-sam/build, or the environment's build_dir); "+
		"after each build every function's CodeUri in the built template.yaml names its own folder, which holds a static "+
		"linux/arm64 ELF bootstrap (mode 0755) written by that build and nothing else but, for the rotator, profiles/ "+
		"identical to functions/rotator/profiles/; each nested stack's template is built beside them",
		c.Line, c, describeEnvs(envs, c))
}

// checkBuild checks the build folder of layout l (.aws-sam/build for
// template.yaml) after a sam build that started at start and printed out.
func (s *session) checkBuild(t *testing.T, out string, start time.Time, l layout) {
	t.Helper()
	buildDir := l.dir
	built := readTemplate(t, filepath.Join(buildDir, "template.yaml"))
	for _, id := range l.ids() {
		fn := l.functions[id]
		if fn.buildMethod != "makefile" {
			t.Errorf("%s: %s Metadata.BuildMethod = %q; want makefile (the Makefile's build-%s)", l.template, id, fn.buildMethod, id)
		}
		r, ok := built.Resources[id]
		if !ok {
			t.Errorf("%s/template.yaml has no %s", buildDir, id)
			continue
		}
		if uri, _ := r.Properties.CodeURI.(string); uri != id {
			t.Errorf("%s/template.yaml: %s CodeUri = %v; want %q (its build folder)", buildDir, id, r.Properties.CodeURI, id)
		}
		// The Makefile's go build line, as make echoes it: SAM's ARTIFACTS_DIR.
		if want := "-o " + filepath.Join(buildDir, id, "bootstrap") + " "; !strings.Contains(out, want) {
			t.Errorf("sam build output has no %q: make build-%s did not get ARTIFACTS_DIR=%s/%s", want, id, buildDir, id)
		}
		dir := filepath.Join(buildDir, id)
		bootstrap := filepath.Join(dir, "bootstrap")
		if err := CheckBootstrap(bootstrap); err != nil {
			t.Error(err)
			continue
		}
		if fi, _ := os.Stat(bootstrap); fi.ModTime().Before(start.Add(-time.Second)) {
			t.Errorf("%s was written at %v, before this build started (%v): a stale artifact", bootstrap, fi.ModTime(), start)
		}
		want := []string{"bootstrap"}
		if fn.hasProfiles {
			want = append(want, "profiles/")
			s.checkProfiles(t, filepath.Join(dir, "profiles"))
		}
		if got := listDir(t, dir); !slices.Equal(got, want) {
			t.Errorf("%s holds %q; want %q (only what the function runs)", dir, got, want)
		}
	}
	for id, r := range built.Resources {
		if _, ok := l.functions[id]; !ok && r.Type == "AWS::Serverless::Function" {
			t.Errorf("%s/template.yaml has a function %s that %s has not", buildDir, id, l.template)
		}
	}
	s.checkNestedBuild(t, l, built)
}

// checkProfiles compares a built profiles folder with the sources, and
// checks that every EnvironmentName has its profiles/<env>.yaml (the
// rotator's PROFILES_FILE).
func (s *session) checkProfiles(t *testing.T, dir string) {
	t.Helper()
	src := filepath.Join(s.root, "functions", "rotator", "profiles")
	want, _ := filepath.Glob(filepath.Join(src, "*.yaml"))
	if len(want) == 0 {
		t.Fatalf("%s has no *.yaml", src)
	}
	if got := listDir(t, dir); len(got) != len(want) {
		t.Errorf("%s holds %q; want the %d profiles documents of %s", dir, got, len(want), src)
	}
	for _, w := range want {
		a, _ := os.ReadFile(w)
		b, err := os.ReadFile(filepath.Join(dir, filepath.Base(w)))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s: %v; want a copy of %s", filepath.Join(dir, filepath.Base(w)), errOrDiffers(err), w)
		}
	}
	tpl := readTemplate(t, filepath.Join(s.root, "template.yaml"))
	for _, env := range tpl.Parameters["EnvironmentName"].AllowedValues {
		if _, err := os.Stat(filepath.Join(dir, env+".yaml")); err != nil {
			t.Errorf("EnvironmentName %s: the rotator reads profiles/%s.yaml, which the build did not ship: %v", env, env, err)
		}
	}
}

func errOrDiffers(err error) string {
	if err != nil {
		return err.Error()
	}
	return "differs"
}

// listDir lists a folder, folders with a trailing slash, sorted.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() {
			n += "/"
		}
		names = append(names, n)
	}
	return names
}
