// Package samcheck proves the deployment path with the real AWS SAM CLI,
// without an AWS account: `make sam-check` installs the SAM CLI pinned in
// .ci/sam-requirements.txt into .build/sam-venv and runs TestSAMCLI
// (SAMCHECK=1), which
//
//   - runs the commands of the README's Deploy block (between the lines
//     <!-- BEGIN deploy --> and <!-- END deploy -->) in order: sam validate
//     --lint and sam build once for every config environment of
//     samconfig.toml, sam deploy against moto_server (started on a free
//     loopback port, reached through AWS_ENDPOINT_URL with dummy credentials)
//     with --no-execute-changeset and an S3 bucket made in moto in place of
//     resolve_s3, so the check fails when the block drifts from what works;
//   - after every build checks the environment's build folder (.aws-sam/build,
//     or the build_dir of its [env.build.parameters], whose template_file
//     may name another template, as the workload environment's
//     functions/consumer.yaml): each function's CodeUri in the built template.yaml
//     names its own folder, which holds a static
//     linux/arm64 ELF bootstrap (CheckBootstrap) written by that build, the
//     rotator's profiles documents beside it, and nothing else;
//   - runs sam package against moto's S3 and opens the uploaded zips: the
//     same bootstrap, executable, and the profiles;
//   - reads the change set each sam deploy made in moto's CloudFormation
//     (CREATE_COMPLETE, not executed, on the environment's stack, with its
//     EnvironmentName) and the template SAM uploaded for it, whose CodeUris
//     must be the uploaded zips;
//   - runs `sam <command> --help` for every sam command written anywhere in
//     the README or docs/*.md and finds each flag it uses in that help;
//   - runs sam build with VERSION set and finds the version in both bootstraps.
//
// It ends by printing what it proved and what it did not. Two probes show
// where moto stops, and report rather than fail: resolve_s3 (moto creates
// SAM's managed bucket stack but describes it without the Outputs SAM
// requires) and executing the change set (moto's ExecuteChangeSet refuses
// it; moto does not expand the AWS::Serverless-2016-10-31 transform at all,
// so nothing is created and no IAM policy is evaluated). sam local invoke
// needs Docker and is only checked to exist. Without SAMCHECK=1 (as in make
// test) only the README parsing, the Deploy block's shape and the ELF checks
// are tested.
package samcheck
