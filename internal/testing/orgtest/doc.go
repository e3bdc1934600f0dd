// Package orgtest sets up a multi-account test against moto: the platform
// account, where the rotator keeps its records (moto's default account),
// a workload account inside the organization and an outsider in another,
// and the platform stack's reader role, rendered from template.yaml by
// package cfntest and enforced by mototest's proxy. So the template's own
// trust and permission policies decide, in every test, who may read.
//
// A principal of an account is a session of a role in it: moto puts a
// request in the account of its access key, and AssumeRole keys in the
// role's account. Credentials assumes such a role (arn:aws:iam::<account>:
// role/<WorkloadRole>, not enforced: moto checks no trust for it), as a
// Lambda execution role of that account would hold them.
package orgtest
