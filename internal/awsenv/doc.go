// Package awsenv builds the AWS SDK configuration of the Lambda functions
// from their environment alone, as the Lambda runtime provides it:
//
//	cfg, err := awsenv.Load(awsenv.Options{Logger: logger})
//
// config.LoadDefaultConfig would do the same job, but it links the whole
// default credential chain (shared config files, SSO, STS web identity and
// assume-role, IMDS, credential processes) into every binary, and a
// function uses none of it: Lambda hands the execution role's credentials
// to the process in its environment or through a container credentials
// endpoint. Leaving the chain out takes about 1.5 MiB off each bootstrap,
// and not importing package config at all (it linked the SSO, STS, sign-in
// and IMDS clients' package inits for the one function awsenv used)
// another 320 KiB (docs/performance.md). Programs that need the chain (an ECS task on EC2,
// a developer's machine) should use config.LoadDefaultConfig:
// pkg/tokencache accepts a client built either way.
package awsenv
