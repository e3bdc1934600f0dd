"""Read a rotator's token records from another account, through its reader role.

    import os, reader_role
    from boto3_reader import TokenReader
    reader = TokenReader(reader_role.ssm_client(os.environ["TOKEN_READER_ROLE_ARN"],
                                                region=os.environ.get("TOKEN_REGION")))

ssm_client returns a boto3 SSM client, in the rotator's region, whose
credentials are sessions of the reader role (the rotator stack's
CrossAccountReaderRoleArn output), assumed with this process's own
credentials (the Lambda's execution role, which needs sts:AssumeRole on the
role and nothing else). botocore's DeferredRefreshableCredentials assumes the
role at the first call and again in the last 15 minutes of each session
(1 hour by default), before it expires.

When the role cannot be assumed, the call fails with ReaderRoleError: its
message names the role and what to change, and TokenReader puts it in its
TokenError (kind read_failed). No credential is ever in a message.
Needs boto3 (present in the Lambda Python runtime).
"""

import time
from datetime import datetime, timezone

import boto3
import botocore.session
from botocore.credentials import CredentialProvider, CredentialResolver, DeferredRefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError

DEFAULT_DURATION = 3600  # seconds: the reader role's MaxSessionDuration (functions/reader-role.yaml)


class ReaderRoleError(BotoCoreError):
    """The reader role could not be assumed. explanation names it and what to change."""

    fmt = "{explanation}"

    def __init__(self, role_arn, code):
        self.explanation = (
            f"the reader role {role_arn} could not be assumed ({code}): the rotator's stack must trust this "
            "account (CrossAccountReaderAccounts, CrossAccountReaderOrgId or CrossAccountReaderOrgPaths) and "
            f"this process's own role needs sts:AssumeRole on {role_arn}")
        super().__init__(explanation=self.explanation)


class _ReaderRole(CredentialProvider):
    METHOD = "oauth-token-reader-role"

    def __init__(self, load):
        super().__init__()
        self._load = load

    def load(self):
        return self._load()


def ssm_client(role_arn, *, region=None, session_name="oauth-token-reader", duration_seconds=DEFAULT_DURATION,
               now=time.time):
    """Returns an SSM client that reads with the reader role's credentials, in region (None: this one)."""
    sts = boto3.client("sts")  # this process's own credentials

    def assume():
        try:
            out = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name, DurationSeconds=duration_seconds)
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code", "")
            raise ReaderRoleError(role_arn, code or "error") from None
        except BotoCoreError as e:
            raise ReaderRoleError(role_arn, type(e).__name__) from None
        c = out["Credentials"]
        return {"access_key": c["AccessKeyId"], "secret_key": c["SecretAccessKey"], "token": c["SessionToken"],
                "expiry_time": c["Expiration"].isoformat()}

    def credentials():
        return DeferredRefreshableCredentials(
            refresh_using=assume, method=_ReaderRole.METHOD,
            time_fetcher=lambda: datetime.fromtimestamp(now(), timezone.utc))

    session = botocore.session.Session()
    session.register_component("credential_provider", CredentialResolver([_ReaderRole(credentials)]))
    return boto3.Session(botocore_session=session).client("ssm", region_name=region)
