package samcheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// helpAll checks every sam command of the README and docs/ against the
// pinned SAM CLI: `sam <command> --help` succeeds, and each flag a command
// passes is an option in that help.
func (s *session) helpAll(t *testing.T, docs []document) {
	type written struct {
		Command
		path string
	}
	var cmds []written
	for _, d := range docs {
		cs, err := Commands(d.Text)
		if err != nil {
			t.Fatalf("%s: %v", d.Path, err)
		}
		for _, c := range cs {
			cmds = append(cmds, written{c, d.Path})
		}
	}
	helps := map[string]string{}
	help := func(path []string) (string, error) {
		key := strings.Join(path, " ")
		if h, ok := helps[key]; ok {
			return h, nil
		}
		out, err := s.try(nil, append(slices.Clone(path), "--help")...)
		if err != nil {
			return "", fmt.Errorf("sam %s --help: %v\n%s", key, err, out)
		}
		helps[key] = out
		return out, nil
	}
	seen := map[string]bool{}
	var checked []string
	for _, c := range cmds {
		if seen[c.String()] {
			continue
		}
		seen[c.String()] = true
		// The command path: words while the help so far lists subcommands.
		path := []string{c.Args[0]}
		h, err := help(path)
		for err == nil && strings.Contains(h, "\nCommands:") && len(path) < len(c.Args) && !strings.HasPrefix(c.Args[len(path)], "-") {
			path = append(path, c.Args[len(path)])
			h, err = help(path)
		}
		if err != nil {
			t.Errorf("%s line %d: %s: %v", c.path, c.Line, c, err)
			continue
		}
		for _, a := range c.Args[len(path):] {
			if !strings.HasPrefix(a, "-") || a == "-" {
				continue
			}
			flag, _, _ := strings.Cut(a, "=")
			if !regexp.MustCompile(`(?m)(^|[\s,/])` + regexp.QuoteMeta(flag) + `([\s,/=]|$)`).MatchString(h) {
				t.Errorf("%s line %d: %s: sam %s %s has no option %s", c.path, c.Line, c, strings.Join(path, " "), s.version, flag)
			}
		}
		checked = append(checked, "sam "+strings.Join(path, " "))
	}
	slices.Sort(checked)
	checked = slices.Compact(checked)
	if len(checked) == 0 {
		t.Fatal("the README and docs/ have no sam command")
	}
	s.report.prove("every sam command in the README and docs/ (%d as written) exists in SAM CLI %s with every flag it uses: %s",
		len(seen), s.version, strings.Join(checked, ", "))
}

// generateEvent runs the README's generate-event command for the
// scheduled event (no Docker needed) and compares it with
// events/scheduled.json.
func (s *session) generateEvent(t *testing.T) {
	args := []string{"local", "generate-event", "cloudwatch", "scheduled-event", "--region", s.api.region}
	out := s.run(t, nil, args...)
	var generated map[string]any
	if err := json.Unmarshal([]byte(out), &generated); err != nil {
		t.Fatalf("sam %s: not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
	if generated["detail-type"] != "Scheduled Event" || generated["source"] != "aws.events" {
		t.Errorf("sam %s = %s; want an EventBridge Scheduled Event", strings.Join(args, " "), out)
	}
	b, err := os.ReadFile(filepath.Join(s.root, "events", "scheduled.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ours map[string]any
	if err := json.Unmarshal(b, &ours); err != nil {
		t.Fatalf("events/scheduled.json: %v", err)
	}
	for k := range generated {
		if _, ok := ours[k]; !ok {
			t.Errorf("events/scheduled.json has no %q, which SAM's scheduled event has", k)
		}
	}
	s.report.prove("`sam %s` works without Docker and its event has no field that events/scheduled.json lacks", strings.Join(args, " "))
}

// versionStamp builds with VERSION set and finds it in both bootstraps:
// SAM passes the environment through to make, and nothing stale is reused.
func (s *session) versionStamp(t *testing.T) {
	version := fmt.Sprintf("0.0.0-samcheck.%d", os.Getpid())
	s.run(t, []string{"VERSION=" + version}, "build", "--config-env", s.envs[0])
	l := s.layout(t, s.envs[0])
	for _, id := range l.ids() {
		b, err := os.ReadFile(filepath.Join(l.dir, id, "bootstrap"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte(version)) {
			t.Errorf("VERSION=%s sam build: %s's bootstrap does not contain %q", version, id, version)
		}
	}
	s.report.prove("VERSION=%s sam build stamps the version into both bootstraps (SAM passes the environment to make; no stale cache)", version)
}

// probeResolveS3 tries a README-style deploy with samconfig.toml's
// resolve_s3, which needs SAM's managed stack. It reports, it does not fail.
func (s *session) probeResolveS3(t *testing.T) {
	args := []string{"deploy", "--config-env", s.envs[0], "--stack-name", "samcheck-resolve-s3-probe",
		"--no-execute-changeset", "--no-confirm-changeset", "--no-progressbar"}
	out, err := s.try(nil, args...)
	if err == nil {
		s.report.prove("resolve_s3 = true: sam deploy created its managed bucket stack in moto and deployed through it")
		return
	}
	t.Logf("sam %s: %v\n%s", strings.Join(args, " "), err, out)
	s.report.notProve("resolve_s3", "resolve_s3 = true (SAM's managed stack aws-sam-cli-managed-default and its bucket): "+
		"moto creates the stack but stops SAM there, so the check deploys with --s3-bucket; moto's answer: %s", lastLine(out))
}

// probeExecute runs the README's sandbox deploy through to execution, on
// a stack of its own, and reports how far moto's CloudFormation goes. It
// reports, it does not fail.
func (s *session) probeExecute(t *testing.T) {
	env := s.envs[0]
	args := []string{"deploy", "--config-env", env, "--stack-name", "samcheck-execute-probe",
		"--no-resolve-s3", "--s3-bucket", s.bucket, "--no-confirm-changeset", "--no-progressbar"}
	out, err := s.try(nil, args...)
	t.Logf("sam %s: %v\n%s", strings.Join(args, " "), err, out)
	if err == nil {
		s.report.notProve("execute", "executing the change set: sam deploy reported success against moto, "+
			"but moto does not expand the SAM transform, so that says nothing about the real stack")
		return
	}
	s.report.notProve("execute", "executing the change set (creating the stack): sam deploy without --no-execute-changeset "+
		"stops at moto's ExecuteChangeSet: %s", lastLine(out))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
