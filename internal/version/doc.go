// Package version names this project and its release, for the User-Agent
// header the rotator sends to token endpoints and the consumer sends to
// partner APIs.
package version
