package oauthtest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

func (s *Server) token(p Provider, w http.ResponseWriter, r *http.Request) {
	if d := time.Duration(s.latency.Load()); d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	rec := Recorded{Provider: p.Name, ContentType: r.Header.Get("Content-Type"), Accept: r.Header.Get("Accept"), UserAgent: r.Header.Get("User-Agent")}
	f, faulted := s.takeFault(p.Name)
	status, body := s.answer(p, w, r, &rec, !faulted)
	if faulted {
		if f.Delay > 0 {
			select {
			case <-time.After(f.Delay):
			case <-r.Context().Done():
			}
		}
		if f.Drop {
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
				}
			}
			rec.Status = -1
			s.record(rec)
			return
		}
		for k, v := range f.Header {
			w.Header().Set(k, v)
		}
		status, body = f.Status, []byte(f.Body)
	}
	rec.Status = status
	s.record(rec)
	if d := time.Duration(s.slow.Load()); d > 0 && !faulted && status == http.StatusOK {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return // the token, if any, stays issued
		}
	}
	if len(body) > 0 && body[0] == '{' {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (s *Server) record(rec Recorded) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, rec)
}

func oauthErr(code, desc string) []byte {
	b, _ := json.Marshal(map[string]string{"error": code, "error_description": desc})
	return b
}

// answer validates the request as the provider would and issues a token.
// A token is issued only when issue is true (no fault replaces the answer).
func (s *Server) answer(p Provider, w http.ResponseWriter, r *http.Request, rec *Recorded, issue bool) (int, []byte) {
	if r.Method != http.MethodPost {
		return http.StatusMethodNotAllowed, oauthErr("invalid_request", "POST required")
	}
	if r.Header.Get("User-Agent") == "" {
		return http.StatusBadRequest, oauthErr("invalid_request", "User-Agent header required")
	}
	if p.RequireAccept && !strings.Contains(r.Header.Get("Accept"), "application/json") {
		return http.StatusNotAcceptable, oauthErr("invalid_request", "Accept: application/json required")
	}
	fields, err := readFields(r, p.JSONOnly)
	if err != nil {
		return http.StatusBadRequest, oauthErr("invalid_request", err.Error())
	}
	if p.FormOnly && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		return http.StatusBadRequest, oauthErr("unsupported_grant_type", "grant_type is missing (this endpoint reads form bodies)")
	}
	rec.Audience = fields["audience"]
	rec.Scope = fields["scope"]
	rec.Params = map[string]string{}
	for k, v := range fields {
		switch k {
		case "client_id", "client_secret", "audience", "scope", "grant_type", "client_assertion", "client_assertion_type":
		default:
			rec.Params[k] = v
		}
	}
	if fields["grant_type"] != "client_credentials" {
		return http.StatusBadRequest, oauthErr("unsupported_grant_type", "grant_type must be client_credentials")
	}
	rec.ClientID, rec.SecretOK = s.authenticate(p, r, fields, w)
	if !rec.SecretOK {
		return http.StatusUnauthorized, oauthErr("invalid_client", "Unauthorized")
	}
	if len(p.Audiences) > 0 && !slices.Contains(p.Audiences, fields["audience"]) {
		return http.StatusForbidden, oauthErr("access_denied", "Service not enabled within domain: "+fields["audience"])
	}
	for _, name := range p.RequiredParams {
		if fields[name] == "" {
			return http.StatusBadRequest, oauthErr("invalid_request", name+" is required")
		}
	}
	if !issue {
		return http.StatusOK, nil
	}
	now := s.now()
	expires := now.Add(time.Duration(p.ExpiresIn) * time.Second)
	tok := newToken(p.Name)
	if p.JWTTokens {
		tok = s.jwtToken(p.Name, expires)
	}
	s.mu.Lock()
	s.issued[tok] = &Issued{Token: tok, Provider: p.Name, ClientID: rec.ClientID, Audience: fields["audience"], Params: rec.Params,
		IssuedAt: now, ExpiresAt: expires}
	s.mu.Unlock()
	answer := map[string]any{"access_token": tok, "token_type": "Bearer"}
	switch {
	case p.NoExpiresIn:
		answer["issued_at"] = fmt.Sprint(now.UnixMilli())
	case p.ExpiresInString:
		answer["expires_in"] = fmt.Sprint(p.ExpiresIn)
	default:
		answer["expires_in"] = p.ExpiresIn
	}
	b, _ := json.Marshal(answer)
	return http.StatusOK, b
}

func readFields(r *http.Request, jsonOnly bool) (map[string]string, error) {
	data, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err != nil {
		return nil, fmt.Errorf("read body: %v", err)
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("body is not JSON")
		}
		out := map[string]string{}
		for k, v := range m {
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("%s must be a string", k)
			}
			out[k] = s
		}
		return out, nil
	case "application/x-www-form-urlencoded":
		if jsonOnly {
			return nil, fmt.Errorf("Content-Type must be application/json")
		}
		v, err := url.ParseQuery(string(data))
		if err != nil {
			return nil, fmt.Errorf("body is not a form")
		}
		out := map[string]string{}
		for k := range v {
			out[k] = v.Get(k)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("unsupported Content-Type %q", mt)
	}
}

func newToken(provider string) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return "tok_" + strings.ReplaceAll(provider, "-", "") + "_" + hex.EncodeToString(b)
}
