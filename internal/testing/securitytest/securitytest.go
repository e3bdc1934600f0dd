package securitytest

import (
	"bytes"
	"fmt"
	"log/slog"
)

// Rendering is one way a value was printed.
type Rendering struct {
	// How names it, such as "%+v" or "slog JSON".
	How string
	// Text is what was printed.
	Text string
}

// Renderings returns v as the fmt verbs %v, %+v, %#v, %s, %q and %x print it
// (directly, in a slice and in a map), and as the log lines of slog's JSON
// and text handlers (as an attribute, in a group and in a logger's With).
// Only the %x rendering is hexadecimal.
func Renderings(v any) []Rendering {
	var out []Rendering
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		out = append(out, Rendering{verb, fmt.Sprintf(verb, v)})
	}
	out = append(out,
		Rendering{"%v of a slice", fmt.Sprintf("%v", []any{v})},
		Rendering{"%+v of a map", fmt.Sprintf("%+v", map[string]any{"k": v})},
		Rendering{"fmt.Sprint", fmt.Sprint(v)},
	)
	for _, h := range []struct {
		name string
		new  func(*bytes.Buffer) slog.Handler
	}{
		{"slog JSON", func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }},
		{"slog text", func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }},
	} {
		var b bytes.Buffer
		l := slog.New(h.new(&b))
		l.Info("value", "v", v)
		l.Info("group", slog.Group("g", slog.Any("v", v)))
		l.With("v", v).Info("with")
		out = append(out, Rendering{h.name, b.String()})
	}
	return out
}

// URLCase is a URL and whether a secret may be sent to it.
type URLCase struct {
	URL     string
	Allowed bool
	Why     string
}

// URLCases are the URLs every secret-sending check must agree on: https to
// any host, plain http only to localhost, 127.0.0.0/8 or ::1. Each URL has
// a path and no user info, query or fragment, so that only the scheme and
// host decide.
var URLCases = []URLCase{
	{"https://api.example.com/v1", true, "https"},
	{"HTTPS://API.EXAMPLE.COM/v1", true, "https, upper case"},
	{"https://127.0.0.1:8443/v1", true, "https to loopback"},
	{"http://127.0.0.1:8080/v1", true, "http to 127.0.0.1"},
	{"http://127.8.9.10/v1", true, "http to 127.0.0.0/8"},
	{"http://localhost:8080/v1", true, "http to localhost"},
	{"http://LocalHost/v1", true, "http to localhost, mixed case"},
	{"http://[::1]:8080/v1", true, "http to ::1"},
	{"http://api.example.com/v1", false, "plain http to a remote host"},
	{"http://127.0.0.1.nip.io/v1", false, "a name that starts like a loopback address"},
	{"http://localhost.example.com/v1", false, "a name that starts with localhost"},
	{"http://0.0.0.0/v1", false, "the unspecified address is not loopback"},
	{"http://10.0.0.1/v1", false, "a private address is not loopback"},
	{"http://[::ffff:10.0.0.1]/v1", false, "an IPv4-mapped private address"},
	{"http://2130706433/v1", false, "127.0.0.1 as a decimal number is not accepted"},
	{"ftp://127.0.0.1/v1", false, "not http(s)"},
	{"ws://localhost/v1", false, "not http(s)"},
	{"//api.example.com/v1", false, "no scheme"},
	{"api.example.com/v1", false, "not absolute"},
}
