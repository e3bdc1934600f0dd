package version

// Name is the product name used in User-Agent headers.
const Name = "oauth-token-rotator"

// Version is the release. Builds may override it with
// -ldflags "-X github.com/m2mtokens/oauth-token-rotator/internal/version.Version=1.2.3".
var Version = "0.1.0"

// UserAgent returns "oauth-token-rotator/<version>" followed by the
// component in parentheses when one is given, for example
// "oauth-token-rotator/0.1.0 (rotator)".
func UserAgent(component string) string {
	ua := Name + "/" + Version
	if component != "" {
		ua += " (" + component + ")"
	}
	return ua
}
