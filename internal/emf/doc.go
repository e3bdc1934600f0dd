// Package emf encodes CloudWatch Embedded Metric Format log lines: one JSON
// object whose "_aws" member tells CloudWatch which of its fields are
// metrics and which are dimensions. A Lambda function writes such a line to
// stdout and CloudWatch turns it into metrics, with no API call.
package emf
