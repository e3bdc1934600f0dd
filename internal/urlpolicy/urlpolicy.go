package urlpolicy

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// IsLoopback reports whether host is localhost or a loopback IP address.
// Look-alike names (localhost.example.com, 127.0.0.1.nip.io) are not.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Secure reports whether a request to u may carry a secret: https, or http
// to a loopback host.
func Secure(u *url.URL) bool {
	return u.Scheme == "https" || (u.Scheme == "http" && IsLoopback(u.Hostname()))
}

// Check accepts an absolute URL that Secure allows and that holds no user
// info (which would put a credential into configuration). Its errors never
// echo user info.
func Check(raw string) error {
	if raw == "" {
		return errors.New("is required")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		if strings.Contains(raw, "@") {
			return errors.New("is not an absolute URL") // do not echo what may be a password
		}
		return fmt.Errorf("%q is not an absolute URL", raw)
	}
	if u.User != nil {
		return errors.New("must not contain user info")
	}
	switch {
	case Secure(u):
		return nil
	case u.Scheme == "http":
		return fmt.Errorf("%q must use https (http is allowed only for loopback hosts)", u.String())
	default:
		return fmt.Errorf("%q must use https", u.String())
	}
}
