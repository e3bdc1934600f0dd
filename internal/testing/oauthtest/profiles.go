package oauthtest

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Localize rewrites a profiles document so that every profile's token_url
// points at the matching provider of this server, chosen by audience (or,
// without one, by the longest provider path the token_url ends with, such
// as the partner API's /api/oauth/token). The rest of
// the document is kept. The demo and the tests use it to run the sample
// profiles against local endpoints.
func (s *Server) Localize(doc []byte) ([]byte, error) {
	var root struct {
		Profiles []map[string]any `yaml:"profiles"`
	}
	if err := yaml.Unmarshal(doc, &root); err != nil {
		return nil, fmt.Errorf("oauthtest: parse profiles: %w", err)
	}
	for _, p := range root.Profiles {
		name, _ := p["name"].(string)
		aud, _ := p["audience"].(string)
		tokenURL, _ := p["token_url"].(string)
		provider := ""
		for _, pr := range s.providers {
			if aud != "" && slices.Contains(pr.Audiences, aud) {
				provider = pr.Name
			}
		}
		if provider == "" && aud == "" {
			provider = s.byPath(tokenURL)
		}
		if provider == "" {
			return nil, fmt.Errorf("oauthtest: profile %q: no local provider matches audience %q / token_url %q", name, aud, tokenURL)
		}
		p["token_url"] = s.TokenURL(provider)
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("oauthtest: encode profiles: %w", err)
	}
	return b.Bytes(), nil
}

// byPath returns the provider without audiences whose path is the longest
// suffix of tokenURL, or "".
func (s *Server) byPath(tokenURL string) string {
	best := ""
	for _, pr := range s.providers {
		if len(pr.Audiences) == 0 && strings.HasSuffix(tokenURL, pr.Path) && (best == "" || len(pr.Path) > len(s.providers[best].Path)) {
			best = pr.Name
		}
	}
	return best
}
