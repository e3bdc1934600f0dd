package demo

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/m2mtokens/oauth-token-rotator/internal/profile"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/lambdatest"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/mototest"
	"github.com/m2mtokens/oauth-token-rotator/internal/testing/oauthtest"
	"gopkg.in/yaml.v3"
)

// build builds the two functions with the Makefile's flags (for this host).
func (d *demo) build() error {
	t0 := time.Now()
	d.rotatorBin = filepath.Join(d.work, "rotator", "bootstrap")
	d.consumerBin = filepath.Join(d.work, "consumer", "bootstrap")
	for _, b := range []struct{ pkg, out string }{{"./functions/rotator", d.rotatorBin}, {"./functions/consumer", d.consumerBin}} {
		if err := lambdatest.BuildBinary(d.ctx, b.pkg, b.out); err != nil {
			return fmt.Errorf("demo: build %s: %w", b.pkg, err)
		}
	}
	d.rep.BuildTime = time.Since(t0)
	d.say("[1/7] built rotator and consumer bootstraps (-tags lambda.norpc -trimpath -ldflags=-s -w) in %s", d.rep.BuildTime.Round(100*time.Millisecond))
	return nil
}

// startLocal starts moto (behind a call-counting proxy) and the token
// endpoints.
func (d *demo) startLocal() error {
	var err error
	if d.moto, err = mototest.Launch(d.ctx); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	d.proxy = mototest.NewProxy(d.moto.URL)
	d.idp = oauthtest.NewServer(append(oauthtest.Providers(), oauthtest.Examples()...)...)
	d.awsEnv = mototest.EnvFor(d.proxy.URL)
	d.say("[2/7] moto_server at %s (behind a call-counting proxy); token endpoints for AVIV leads, AVIV CaaS, Pliant, the partner API, Cognito, Okta and Salesforce at %s", d.moto.URL, d.idp.URL)
	return nil
}

// seed stores the secrets and writes sandbox.yaml plus the example
// profiles, pointed at the local endpoints, beside the rotator.
func (d *demo) seed() error {
	for _, s := range secrets {
		d.idp.AddClient(s.clientID, s.secret)
		if err := d.moto.PutClientSecret(d.ctx, s.id, s.clientID, s.secret); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	d.okta = oauthtest.NewECKey()
	d.idp.AddClientKey(oktaClient, d.okta.Public())
	keySecret, _ := json.Marshal(map[string]string{"client_id": oktaClient, "private_key": d.okta.PEM, "key_id": "demo-key-1"})
	if err := d.moto.PutSecret(d.ctx, oktaSecret, string(keySecret)); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	d.rep.Secrets = len(secrets) + 1
	doc, err := d.profilesDocument()
	if err != nil {
		return err
	}
	taskRoot := filepath.Dir(d.rotatorBin)
	if err := os.MkdirAll(filepath.Join(taskRoot, "profiles"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(taskRoot, "profiles", "sandbox.yaml"), doc, 0o600); err != nil {
		return err
	}
	ps, err := profile.Parse(doc, profile.Options{})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	d.rep.Profiles = len(ps)
	for _, p := range ps {
		d.rep.Auths = appendNew(d.rep.Auths, string(p.Auth))
	}
	d.say("[3/7] seeded %d secrets in Secrets Manager (one a private key); sandbox.yaml and the Cognito, Okta and Salesforce sample profiles, token_url pointed at the local endpoints (auth: %s)",
		d.rep.Secrets, strings.Join(d.rep.Auths, ", "))
	return nil
}

// profilesDocument joins sandbox.yaml and the example profiles and points
// them at the local endpoints.
func (d *demo) profilesDocument() ([]byte, error) {
	dir := filepath.Join(d.opts.Root, "functions", "rotator", "profiles")
	var all struct {
		Profiles []map[string]any `yaml:"profiles"`
	}
	read := func(path string, keep func(name string) bool) error {
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("demo: read sample profiles: %w", err)
		}
		var doc struct {
			Profiles []map[string]any `yaml:"profiles"`
		}
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return fmt.Errorf("demo: %s: %w", path, err)
		}
		for _, p := range doc.Profiles {
			if name, _ := p["name"].(string); keep(name) {
				all.Profiles = append(all.Profiles, p)
			}
		}
		return nil
	}
	if err := read(filepath.Join(dir, "sandbox.yaml"), func(string) bool { return true }); err != nil {
		return nil, err
	}
	for _, e := range examples {
		if err := read(filepath.Join(dir, "examples", e.file), func(n string) bool { return n == e.profile }); err != nil {
			return nil, err
		}
	}
	joined, err := yaml.Marshal(all)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	local, err := d.idp.Localize(joined)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	return local, nil
}

func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}
