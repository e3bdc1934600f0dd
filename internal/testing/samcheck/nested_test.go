package samcheck

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// Nested stacks (template.yaml's CrossAccountReaders, functions/reader-role.yaml):
// sam build copies each local TemplateURL into the build folder, and sam
// package and sam deploy upload it and point TemplateURL at the object.

// nestedStacks returns the AWS::CloudFormation::Stack resources of l's
// template whose TemplateURL is a local file, by logical ID.
func (s *session) nestedStacks(t *testing.T, l layout) map[string]string {
	t.Helper()
	out := map[string]string{}
	for id, r := range readTemplate(t, filepath.Join(s.root, l.template)).Resources {
		if url, ok := r.Properties.TemplateURL.(string); ok && r.Type == "AWS::CloudFormation::Stack" && !strings.Contains(url, "://") {
			out[id] = filepath.Join(s.root, url)
		}
	}
	return out
}

// resourceIDs lists a template's resources, sorted.
func resourceIDs(t *testing.T, what string, body []byte) []string {
	t.Helper()
	var tpl samTemplate
	if err := yaml.Unmarshal(body, &tpl); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	var ids []string
	for id := range tpl.Resources {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func sameResources(t *testing.T, src string, body []byte, what string) {
	t.Helper()
	want, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if got, w := resourceIDs(t, what, body), resourceIDs(t, src, want); !slices.Equal(got, w) {
		t.Errorf("%s has resources %v; want those of %s, %v", what, got, src, w)
	}
}

// checkNestedBuild checks that each nested stack's template was built
// into <build folder>/<id>/template.yaml and the built template points there.
func (s *session) checkNestedBuild(t *testing.T, l layout, built samTemplate) {
	t.Helper()
	for id, src := range s.nestedStacks(t, l) {
		if got := built.Resources[id].Properties.TemplateURL; got != id+"/template.yaml" {
			t.Errorf("%s/template.yaml: %s TemplateURL = %v; want %s/template.yaml", l.dir, id, got, id)
			continue
		}
		body, err := os.ReadFile(filepath.Join(l.dir, id, "template.yaml"))
		if err != nil {
			t.Errorf("nested stack %s: %v", id, err)
			continue
		}
		sameResources(t, src, body, filepath.Join(l.dir, id, "template.yaml"))
	}
}

// checkNestedUploaded checks that, in a template SAM uploaded, each nested
// stack's TemplateURL is an object in the check's bucket holding the
// nested template.
func (s *session) checkNestedUploaded(ctx context.Context, t *testing.T, tplBody []byte, what string, l layout) int {
	t.Helper()
	var tpl samTemplate
	if err := yaml.Unmarshal(tplBody, &tpl); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	n := 0
	for id, src := range s.nestedStacks(t, l) {
		url := fmt.Sprint(tpl.Resources[id].Properties.TemplateURL)
		_, key, ok := strings.Cut(url, "/"+s.bucket+"/")
		if !ok {
			t.Errorf("%s: %s TemplateURL = %s; want an object in bucket %s", what, id, url, s.bucket)
			continue
		}
		body, err := s.api.getObject(ctx, s.bucket, key)
		if err != nil {
			t.Errorf("%s: %s TemplateURL %s: %v", what, id, url, err)
			continue
		}
		sameResources(t, src, body, url)
		n++
	}
	return n
}
