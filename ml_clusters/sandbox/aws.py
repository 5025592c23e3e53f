"""boto3 clients into each account of the estate, through the emulator's STS (as Terraform would: assume-role).

The assume-role step is the shared `ml_clusters.resources.assume_role`; what differs from the sensors'
`AwsAccounts` is the policy around it: the sandbox signs with the emulator's dummy credentials whatever
the caller's environment or ~/.aws holds, without changing that environment (the test suite shares its
process), assumes the execution role rather than the observer role, and never retries.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

from ml_clusters.resources.assume_role import assume_role_session
from ml_clusters.sandbox.emulator import DUMMY_CREDENTIALS

# The role root.hcl's generated provider assumes; seeding acts as Terraform would.
EXECUTION_ROLE = "TerraformExecutionRole"

# The emulator is local: a failed call is a seeding bug to report, not a blip to retry (moto answers
# unimplemented calls with HTTP 500, which boto3 would otherwise retry and could apply twice).
_NO_RETRIES = Config(retries={"total_max_attempts": 1}, connect_timeout=10, read_timeout=60)


class AccountClients:
    """`clients.get(account_id, region, "ec2")` — cached, thread-safe."""

    def __init__(self, endpoint_url: str, role_name: str = EXECUTION_ROLE):
        self.endpoint_url = endpoint_url
        self.role_name = role_name
        self._base = boto3.Session(
            aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name="us-east-1",
        )
        self._sessions: dict[str, boto3.Session] = {}
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._lock = threading.Lock()

    def session(self, account_id: str) -> boto3.Session:
        with self._lock:
            if account_id not in self._sessions:
                self._sessions[account_id] = assume_role_session(
                    self._base.client("sts", endpoint_url=self.endpoint_url, config=_NO_RETRIES),
                    f"arn:aws:iam::{account_id}:role/{self.role_name}",
                    "ml-clusters-sandbox-seed",
                ).session
            return self._sessions[account_id]

    def get(self, account_id: str, region: str, service: str) -> Any:
        key = (account_id, region, service)
        session = self.session(account_id)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = session.client(
                    service, region_name=region, endpoint_url=self.endpoint_url, config=_NO_RETRIES
                )
            return self._clients[key]
