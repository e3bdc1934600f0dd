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
// without one, by the /api/oauth/token path of the partner API). The rest of
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
		if provider == "" && aud == "" && strings.HasSuffix(tokenURL, PartnerAPI.Path) {
			if _, ok := s.providers[PartnerAPI.Name]; ok {
				provider = PartnerAPI.Name
			}
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
