package samcheck

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
)

// TestSAMCLI is make sam-check: the README's Deploy block and every sam
// command of the README, run with the real, pinned SAM CLI against moto.
// See the package documentation for what it proves.
func TestSAMCLI(t *testing.T) {
	if os.Getenv("SAMCHECK") != "1" {
		t.Skip("runs the real SAM CLI: make sam-check (SAMCHECK=1)")
	}
	s := newSession(t)
	defer s.report.print(s)

	b, err := os.ReadFile(filepath.Join(s.root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	block, err := DeployBlock(readme)
	if err == nil {
		err = CheckSequence(block)
	}
	if err != nil {
		s.report.fail("README Deploy block: %v", err)
		t.Fatal(err)
	}

	for _, c := range block {
		name := fmt.Sprintf("line%d %s", c.Line, c)
		var ok bool
		switch c.Args[0] {
		case "validate":
			ok = t.Run(name, func(t *testing.T) { s.validate(t, c) })
		case "build":
			ok = t.Run(name, func(t *testing.T) { s.build(t, c) })
		case "deploy":
			if !s.packaged {
				if !t.Run("sam package", s.pkg) {
					s.report.fail("sam package against moto's S3")
					return
				}
			}
			ok = t.Run(name, func(t *testing.T) { s.deploy(t, c) })
		}
		if !ok {
			s.report.fail("README line %d: %s (the steps after it did not run)", c.Line, c)
			return
		}
	}

	docs, err := readDocuments(s.root)
	if err != nil {
		t.Fatal(err)
	}
	if !t.Run("every sam command in the README and docs exists", func(t *testing.T) { s.helpAll(t, docs) }) {
		s.report.fail("a sam command in the README or docs/ does not exist in the pinned SAM CLI, or lacks a flag it uses")
	}
	if !t.Run("sam local generate-event", s.generateEvent) {
		s.report.fail("sam local generate-event cloudwatch scheduled-event")
	}
	if !t.Run("VERSION reaches the bootstraps", s.versionStamp) {
		s.report.fail("VERSION=... sam build stamping both bootstraps")
	}
	t.Run("probe resolve_s3", s.probeResolveS3)
	t.Run("probe ExecuteChangeSet", s.probeExecute)
}

// session is one run of the check: the repository, the SAM CLI, moto and
// what has been proven so far.
type session struct {
	root    string
	sam     string
	version string // the pinned SAM CLI version
	envs    []string
	config  map[string]map[string]map[string]map[string]any
	env     []string // the environment of every sam process
	moto    *mototest.Server
	api     awsAPI
	bucket  string
	report  report

	layouts  map[string]layout // by config environment
	packaged bool
	deployed []string
}

// layout is what one config environment builds and where: its template
// (template_file of [env.build.parameters], else template.yaml), its
// functions, and its build folder (build_dir, else .aws-sam/build).
type layout struct {
	template  string
	dir       string
	functions map[string]function
}

// layout returns env's layout ("" is the default environment).
func (s *session) layout(t *testing.T, env string) layout {
	t.Helper()
	if env == "" {
		env = "default"
	}
	if l, ok := s.layouts[env]; ok {
		return l
	}
	params := s.config[env]["build"]["parameters"]
	l := layout{template: "template.yaml", dir: filepath.Join(s.root, ".aws-sam", "build")}
	if v, ok := params["template_file"].(string); ok && v != "" {
		l.template = v
	}
	if v, ok := params["build_dir"].(string); ok && v != "" {
		l.dir = filepath.Join(s.root, v)
	}
	l.functions = loadFunctions(t, filepath.Join(s.root, l.template))
	if s.layouts == nil {
		s.layouts = map[string]layout{}
	}
	s.layouts[env] = l
	return l
}

// ids returns the layout's function IDs, sorted.
func (l layout) ids() []string {
	ids := make([]string, 0, len(l.functions))
	for id := range l.functions {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

type function struct {
	codeURI     string
	buildMethod string
	hasProfiles bool // PROFILES_FILE is set: the rotator, whose profiles ship beside its bootstrap
}

func newSession(t *testing.T) *session {
	t.Helper()
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	s := &session{root: root, bucket: "samcheck-artifacts"}

	req, err := os.ReadFile(filepath.Join(root, ".ci/sam-requirements.txt"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^aws-sam-cli==(\S+)$`).FindSubmatch(req)
	if m == nil {
		t.Fatal(".ci/sam-requirements.txt pins no aws-sam-cli==VERSION")
	}
	s.version = string(m[1])
	if s.sam, err = exec.LookPath("sam"); err != nil {
		t.Fatal("sam is not on the PATH: run make sam-check, which installs the pinned SAM CLI into .build/sam-venv")
	}
	out, err := exec.Command(s.sam, "--version").CombinedOutput()
	if got := strings.TrimSpace(string(out)); err != nil || got != "SAM CLI, version "+s.version {
		t.Fatalf("%s --version = %q (%v); want the pinned %s: run make sam-install", s.sam, got, err, s.version)
	}
	s.report.prove("the SAM CLI that ran is the pinned %s (%s)", s.version, s.sam)

	md, err := toml.DecodeFile(filepath.Join(root, "samconfig.toml"), &s.config)
	if err != nil {
		t.Fatalf("samconfig.toml: %v", err)
	}
	for _, k := range md.Keys() {
		// Tables in file order; version = 0.1 is no environment.
		if len(k) > 1 && !slices.Contains(s.envs, k[0]) {
			s.envs = append(s.envs, k[0])
		}
	}
	if len(s.envs) == 0 {
		t.Fatal("samconfig.toml has no config environment")
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s.moto, err = mototest.Launch(ctx)
	if err != nil {
		t.Fatalf("moto_server: %v (make sam-check installs it into .build/sam-venv)", err)
	}
	t.Cleanup(s.moto.Close)
	// moto's CloudFormation reads a TemplateURL from its own S3 only when
	// the URL's host is localhost (moto 5.2.5, cloudformation/utils.py), and
	// sam deploy uploads this template (over 51,200 bytes) as one.
	endpoint := strings.Replace(s.moto.URL, "127.0.0.1", "localhost", 1)
	none := filepath.Join(t.TempDir(), "none")
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "AWS_") || slices.Contains([]string{"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "VERSION"}, name) {
			continue
		}
		s.env = append(s.env, kv)
	}
	s.env = append(s.env,
		"AWS_ENDPOINT_URL="+endpoint,
		"AWS_ACCESS_KEY_ID=testing",
		"AWS_SECRET_ACCESS_KEY=testing",
		"AWS_CONFIG_FILE="+none, // no profile of the developer's can reach a real account
		"AWS_SHARED_CREDENTIALS_FILE="+none,
		"AWS_EC2_METADATA_DISABLED=true",
		"SAM_CLI_TELEMETRY=0",
	)
	s.api = awsAPI{endpoint: endpoint, region: s.deployString("default", "region")}
	return s
}

// deployString returns a string of [env.deploy.parameters].
func (s *session) deployString(env, key string) string {
	v, _ := s.config[env]["deploy"]["parameters"][key].(string)
	return v
}

// run runs sam with args in the repository and returns what it printed.
func (s *session) run(t *testing.T, extraEnv []string, args ...string) string {
	t.Helper()
	out, err := s.try(extraEnv, args...)
	if err != nil {
		t.Fatalf("sam %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (s *session) try(extraEnv []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.sam, args...)
	cmd.Dir = s.root
	cmd.Env = append(slices.Clone(s.env), extraEnv...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// forEnvs returns the config environments a README command stands for:
// the one it names with --config-env, or else every one of samconfig.toml.
func (s *session) forEnvs(t *testing.T, c Command) []string {
	if env, ok := c.Flag("--config-env"); ok {
		if !slices.Contains(s.envs, env) {
			t.Fatalf("README line %d: %s: samconfig.toml has no config environment %q (it has %v)", c.Line, c, env, s.envs)
		}
		return nil
	}
	return s.envs
}

// targets returns envs, or one "" (the command as written) for none.
func targets(envs []string) []string {
	if len(envs) == 0 {
		return []string{""}
	}
	return envs
}

// withEnv returns the command's arguments, with --config-env env added
// when env is not empty.
func withEnv(c Command, env string) []string {
	args := slices.Clone(c.Args)
	if env != "" {
		args = append(args, "--config-env", env)
	}
	return args
}

func (s *session) validate(t *testing.T, c Command) {
	envs := s.forEnvs(t, c)
	for _, env := range targets(envs) {
		out := s.run(t, nil, withEnv(c, env)...)
		if !strings.Contains(out, "is a valid SAM Template") {
			t.Fatalf("sam %s printed no \"is a valid SAM Template\":\n%s", strings.Join(withEnv(c, env), " "), out)
		}
	}
	s.report.prove("README line %d: `%s` passes for %s (cfn-lint through SAM, with the SAM transform's own checks)", c.Line, c, describeEnvs(envs, c))
}

func describeEnvs(envs []string, c Command) string {
	if len(envs) == 0 {
		env, _ := c.Flag("--config-env")
		return "config environment " + env
	}
	return "every config environment (" + strings.Join(envs, ", ") + ")"
}
