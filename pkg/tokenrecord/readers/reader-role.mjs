// Read a rotator's token records from another account, through its reader
// role, with the AWS SDK for JavaScript v3.
//
//   import { ssmClient } from './reader-role.mjs';
//   import { TokenReader } from './sdk-reader.mjs';
//   const reader = new TokenReader({
//     client: ssmClient({ roleArn: process.env.TOKEN_READER_ROLE_ARN, region: process.env.TOKEN_REGION }),
//   });
//
// ssmClient returns an SSMClient, in the rotator's region, whose credentials
// are sessions of the reader role (the rotator stack's
// CrossAccountReaderRoleArn output) from @aws-sdk/credential-providers'
// fromTemporaryCredentials, assumed with this process's own credentials (the
// Lambda's execution role, which needs sts:AssumeRole on the role and
// nothing else). The SDK assumes the role at the first call and again when
// less than 5 minutes of the session (1 hour by default) are left.
//
// When the role cannot be assumed, the call fails with ReaderRoleError: its
// message names the role and what to change, and TokenReader puts it in its
// TokenError (kind read_failed). No credential is ever in a message.
import { SSMClient } from '@aws-sdk/client-ssm';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';

export const DEFAULT_DURATION_SECONDS = 3600; // the reader role's MaxSessionDuration (functions/reader-role.yaml)

/** The reader role could not be assumed; explanation names it and what to change. */
export class ReaderRoleError extends Error {
  constructor(roleArn, code) {
    const explanation = `the reader role ${roleArn} could not be assumed (${code}): the rotator's stack must trust ` +
      'this account (CrossAccountReaderAccounts, CrossAccountReaderOrgId or CrossAccountReaderOrgPaths) and this ' +
      `process's own role needs sts:AssumeRole on ${roleArn}`;
    super(explanation);
    this.name = 'ReaderRoleError';
    this.explanation = explanation;
  }
}

/** An SSMClient that reads with the reader role's credentials, in region (undefined: this one). */
export function ssmClient({ roleArn, region, sessionName = 'oauth-token-reader',
  durationSeconds = DEFAULT_DURATION_SECONDS } = {}) {
  const assume = fromTemporaryCredentials({
    params: { RoleArn: roleArn, RoleSessionName: sessionName, DurationSeconds: durationSeconds },
  });
  const credentials = async (props) => {
    try {
      return await assume(props);
    } catch (e) {
      throw new ReaderRoleError(roleArn, e?.name ?? 'error'); // the STS error itself is not kept
    }
  };
  return new SSMClient({ region: region || undefined, credentials });
}
