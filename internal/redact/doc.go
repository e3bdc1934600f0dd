// Package redact describes a secret without revealing it, for the String,
// GoString and LogValue methods of every type that holds one.
package redact
