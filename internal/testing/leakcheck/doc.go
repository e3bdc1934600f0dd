// Package leakcheck finds secrets in text: a client secret or an access
// token, whole or any piece of it. Tests, the demo and the end-to-end runs
// scan every captured log line, error and answer with it.
package leakcheck
