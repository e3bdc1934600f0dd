// Package cfntest reads this repository's CloudFormation templates the way
// CloudFormation deploys them, for tests: Load parses a template (with the
// short-form tags !Ref, !Sub, !If, …), and Render evaluates it for one set
// of parameter values: conditions decided, resources and outputs whose
// condition is false removed, Fn::If resolved, AWS::NoValue dropped, and
// Ref, Fn::Sub, Fn::Join, Fn::Split and Fn::Select of parameters and pseudo
// parameters replaced by their values. References to resources (a Ref to a
// resource, Fn::GetAtt, ${Resource.Attribute}) stay as they are.
//
// ReaderRole renders template.yaml and, through its CrossAccountReaders
// nested stack, functions/reader-role.yaml, and returns the reader role's trust and
// permission policies as JSON: the documents that decide, in tests, who may
// read the token records from another account (mototest.Proxy enforces
// them). So a test exercises the template's own policy, never a copy.
//
// RuleFailures evaluates a template's Rules for one set of parameter
// values, as CloudFormation does before a change set, with the rule
// functions AWS documents and nothing else (RuleFunctions): cfn-lint does
// not evaluate rules, and moto's CloudFormation ignores them.
//
// It knows the intrinsic functions these templates use, and fails on any
// other, so that a template change it cannot follow breaks a test instead
// of passing unseen.
package cfntest
