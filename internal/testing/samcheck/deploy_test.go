package samcheck

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// pkg runs sam package against moto's S3 and checks what it uploaded.
func (s *session) pkg(t *testing.T) {
	if err := s.api.createBucket(ctxFor(t), s.bucket); err != nil {
		t.Fatalf("create bucket %s in moto: %v", s.bucket, err)
	}
	packaged := filepath.Join(t.TempDir(), "packaged.yaml")
	s.run(t, nil, "package", "--s3-bucket", s.bucket, "--region", s.api.region, "--output-template-file", packaged)
	b, err := os.ReadFile(packaged)
	if err != nil {
		t.Fatal(err)
	}
	l := s.layout(t, "default")
	uris := s.codeURIs(t, b, "sam package's template", l)
	for _, id := range l.ids() {
		s.checkUploaded(t, id, uris[id], l)
	}
	nested := s.checkNestedUploaded(ctxFor(t), t, b, "sam package's template", l)
	s.packaged = true
	s.report.prove("sam package (the built template) against moto's S3 (AWS_ENDPOINT_URL, bucket %s): each function's CodeUri "+
		"became s3://%s/<key>, a zip holding the very bootstrap of .aws-sam/build (mode 0755, static arm64 ELF) and, "+
		"for the rotator, its profiles; each of the %d nested stacks' TemplateURL is the uploaded nested template", s.bucket, s.bucket, nested)
}

// codeURIs returns each function of l's CodeUri in a packaged template,
// which must be an object in the check's bucket.
func (s *session) codeURIs(t *testing.T, tplBody []byte, what string, l layout) map[string]string {
	t.Helper()
	var tpl samTemplate
	if err := yaml.Unmarshal(tplBody, &tpl); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	uris := map[string]string{}
	for _, id := range l.ids() {
		uri, _ := tpl.Resources[id].Properties.CodeURI.(string)
		if !strings.HasPrefix(uri, "s3://"+s.bucket+"/") {
			t.Fatalf("%s: %s CodeUri = %v; want s3://%s/...", what, id, tpl.Resources[id].Properties.CodeURI, s.bucket)
		}
		uris[id] = uri
	}
	return uris
}

// checkUploaded opens the zip at an s3:// URI in moto and compares it with
// the function's build folder in l.
func (s *session) checkUploaded(t *testing.T, id, uri string, l layout) {
	t.Helper()
	key := strings.TrimPrefix(uri, "s3://"+s.bucket+"/")
	body, err := s.api.getObject(ctxFor(t), s.bucket, key)
	if err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatalf("%s: %s is not a zip: %v", id, uri, err)
	}
	dir := filepath.Join(l.dir, id)
	var names []string
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		names = append(names, f.Name)
		got := readZip(t, f)
		want, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Name)))
		if err != nil || sha256.Sum256(got) != sha256.Sum256(want) {
			t.Errorf("%s: %s in %s: %v; want the file of %s", id, f.Name, uri, errOrDiffers(err), dir)
		}
		if f.Name == "bootstrap" {
			tmp := filepath.Join(t.TempDir(), "bootstrap")
			if err := os.WriteFile(tmp, got, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := CheckBootstrapMode(tmp, f.Mode()); err != nil {
				t.Errorf("%s: bootstrap in %s: %v", id, uri, err)
			}
		}
	}
	if !slices.Contains(names, "bootstrap") {
		t.Errorf("%s: %s holds %q; want a bootstrap at its root", id, uri, names)
	}
	if l.functions[id].hasProfiles && !slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, "profiles/") }) {
		t.Errorf("%s: %s holds %q; want profiles/*.yaml beside the bootstrap", id, uri, names)
	}
}

func readZip(t *testing.T, f *zip.File) []byte {
	t.Helper()
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// noAccount are the flags that take a README deploy to moto: a bucket made
// there instead of resolve_s3's managed stack, the change set created but
// not executed (moto cannot expand the SAM transform), no prompt.
func (s *session) noAccount() []string {
	return []string{"--no-resolve-s3", "--s3-bucket", s.bucket, "--no-execute-changeset", "--no-confirm-changeset", "--no-progressbar"}
}

var overrideEnvironment = regexp.MustCompile(`EnvironmentName=\\?"?([A-Za-z0-9_-]+)`)

func (s *session) deploy(t *testing.T, c Command) {
	env, ok := c.Flag("--config-env")
	if !ok {
		env = "default"
	} else if !slices.Contains(s.envs, env) {
		t.Fatalf("README line %d: %s: samconfig.toml has no config environment %q", c.Line, c, env)
	}
	args := append(slices.Clone(c.Args), s.noAccount()...)
	out := s.run(t, nil, args...)
	stack := s.deployString(env, "stack_name")
	if !strings.Contains(out, "Changeset created successfully") {
		t.Fatalf("sam %s printed no \"Changeset created successfully\":\n%s", strings.Join(args, " "), out)
	}
	api := awsAPI{endpoint: s.api.endpoint, region: s.deployString(env, "region")}
	l := s.layout(t, env)
	ctx := ctxFor(t)

	var list listChangeSets
	if err := api.cfn(ctx, "ListChangeSets", map[string]string{"StackName": stack}, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Summaries) == 0 {
		t.Fatalf("moto has no change set for stack %s after sam deploy --config-env %s", stack, env)
	}
	last := list.Summaries[len(list.Summaries)-1]
	var cs changeSet
	if err := api.cfn(ctx, "DescribeChangeSet", map[string]string{"StackName": stack, "ChangeSetName": last.ChangeSetID}, &cs); err != nil {
		t.Fatal(err)
	}
	if cs.StackName != stack || cs.Status != "CREATE_COMPLETE" || cs.ExecutionStatus != "AVAILABLE" {
		t.Errorf("change set %s: stack %q, status %s (%s), execution %s; want stack %q, CREATE_COMPLETE, AVAILABLE (not executed)",
			last.ChangeSetName, cs.StackName, cs.Status, cs.StatusReason, cs.ExecutionStatus, stack)
	}
	wantEnv := "sandbox"
	if m := overrideEnvironment.FindStringSubmatch(s.deployString(env, "parameter_overrides")); m != nil {
		wantEnv = m[1]
	}
	if got, _ := cs.parameter("EnvironmentName"); got != wantEnv {
		t.Errorf("change set of %s: EnvironmentName = %q; want %q from [%s.deploy.parameters]", stack, got, wantEnv, env)
	}
	if wantEnv == "production" && !strings.Contains(s.deployString(env, "parameter_overrides"), "AlarmTopicArn=") {
		s.report.notProve("rules", "the template's Rules (a production stack without AlarmTopicArn is refused): moto created change set %s "+
			"for %s without AlarmTopicArn, because moto does not evaluate Rules; real CloudFormation refuses it with the rule's "+
			"AssertDescription, which functions/template_production_test.go checks by evaluating the Rules with samconfig.toml's parameters "+
			"(functions/template_rules_test.go evaluates every template's Rules, rule functions only, as cfntest.RuleFailures does)",
			last.ChangeSetName, stack)
	}
	// moto's DescribeChangeSet leaves Capabilities out: read SAM's own account of what it sent.
	for _, capability := range strings.Fields(s.deployString(env, "capabilities")) {
		if !regexp.MustCompile(`(?m)^\s*Capabilities\s*:.*"` + capability + `"`).MatchString(out) {
			t.Errorf("sam %s: its Capabilities line lacks %s from samconfig.toml:\n%s", strings.Join(args, " "), capability, out)
		}
	}
	serverless := 0
	for _, ch := range cs.Changes {
		if _, ok := l.functions[ch.LogicalID]; ok && ch.Action == "Add" {
			serverless++
			if ch.ResourceTy == "AWS::Serverless::Function" && !s.report.has("transform") {
				s.report.notProve("transform", "the AWS::Serverless-2016-10-31 transform: moto's change set lists %s as %s, "+
					"not expanded into AWS::Lambda::Function and AWS::IAM::Role; so no function, role, policy, schedule, "+
					"log group, queue or alarm is created locally, and no IAM policy is evaluated (sam validate --lint and "+
					"functions/template_test.go check the template statically)", ch.LogicalID, ch.ResourceTy)
			}
		}
	}
	if serverless != len(l.functions) {
		t.Errorf("change set of %s adds %d of the %d functions of %s: %+v", stack, serverless, len(l.functions), l.template, cs.Changes)
	}

	// moto's GetTemplate answers nothing for a stack in REVIEW_IN_PROGRESS:
	// read the template SAM uploaded as the change set's TemplateURL.
	key, body := s.uploadedTemplate(ctx, t, s.deployString(env, "s3_prefix")+"/", l)
	uris := s.codeURIs(t, body, fmt.Sprintf("the template of %s's change set (s3://%s/%s)", stack, s.bucket, key), l)
	for _, id := range l.ids() {
		s.checkUploaded(t, id, uris[id], l)
	}
	s.checkNestedUploaded(ctx, t, body, fmt.Sprintf("the template of %s's change set", stack), l)
	s.deployed = append(s.deployed, env)
	s.report.prove("README line %d: `%s` against moto (plus %s): SAM uploaded the zips and the template to S3 "+
		"and created change set %s on stack %s (CREATE_COMPLETE, not executed) with EnvironmentName=%s and the "+
		"capabilities of samconfig.toml; the template it sent has CodeUris that are zips in moto's S3 holding the "+
		"built bootstraps", c.Line, c, strings.Join(s.noAccount(), " "), last.ChangeSetName, stack, wantEnv)
}

// uploadedTemplate returns the newest template sam deploy uploaded under
// prefix that declares l's functions. The nested stacks' templates share
// the prefix and may carry the same LastModified second, so the newest
// object alone may be one of them.
func (s *session) uploadedTemplate(ctx context.Context, t *testing.T, prefix string, l layout) (string, []byte) {
	t.Helper()
	keys, err := s.api.objectsNewestFirst(ctx, s.bucket, prefix, ".template")
	if err != nil {
		t.Fatalf("the template sam deploy uploaded: %v", err)
	}
	for _, key := range keys {
		body, err := s.api.getObject(ctx, s.bucket, key)
		if err != nil {
			t.Fatal(err)
		}
		var tpl samTemplate
		if yaml.Unmarshal(body, &tpl) != nil {
			continue
		}
		declares := true
		for _, id := range l.ids() {
			if _, ok := tpl.Resources[id]; !ok {
				declares = false
			}
		}
		if declares {
			return key, body
		}
	}
	t.Fatalf("none of the templates sam deploy uploaded under s3://%s/%s (%q) declares %v", s.bucket, prefix, keys, l.ids())
	return "", nil
}
