"""The one way ml-clusters enters an account: STS AssumeRole, then a boto3 session holding the role's
credentials. Shared by the sensors' `AwsAccounts`, the capacity commands and the sandbox's seeding;
each keeps its own policy (base credentials, retries, error wording, caching) around it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import boto3
import botocore.session


@dataclass(frozen=True)
class AssumedSession:
    session: boto3.Session
    expires_at: float  # epoch seconds


def assume_role_session(
    sts: Any,
    role_arn: str,
    session_name: str,
    *,
    region: str | None = None,
    duration_seconds: int | None = None,
    profile_name: str | None = None,
) -> AssumedSession:
    """Assume `role_arn` with the `sts` client; the session keeps `profile_name`'s configuration
    (endpoint_url, ca_bundle, retry settings...) and only swaps its credentials for the role's.
    STS errors propagate as botocore raises them: each caller words them for its users."""
    request: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": session_name}
    if duration_seconds is not None:
        request["DurationSeconds"] = duration_seconds
    credentials = sts.assume_role(**request)["Credentials"]
    expiration = credentials.get("Expiration")
    if isinstance(expiration, datetime):
        expires_at = expiration.astimezone(timezone.utc).timestamp()
    else:  # pragma: no cover - botocore always parses timestamps
        expires_at = time.time() + (duration_seconds or 3600)
    core = botocore.session.Session(profile=profile_name)
    core.set_credentials(credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"])
    return AssumedSession(boto3.Session(botocore_session=core, region_name=region), expires_at)
