"""boto3 clients for the account and Region a capacity command acts in.

An estate account is reached by assuming a role in it (`TerraformExecutionRole` by default, the role the
root config's provider assumes; override with ML_CLUSTERS_CAPACITY_ROLE = a role name or a full ARN, where
`{account_id}` is replaced). With AWS_ENDPOINT_URL (the local emulator) or ML_CLUSTERS_NO_ASSUME_ROLE set,
the ambient boto3 configuration is used as is.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Literal, Mapping

import boto3
from botocore.client import BaseClient
from botocore.config import Config

from ml_clusters.capacity.errors import CapacityError, explain
from ml_clusters.resources.assume_role import assume_role_session

ROLE_ENV = "ML_CLUSTERS_CAPACITY_ROLE"
NO_ASSUME_ROLE_ENV = "ML_CLUSTERS_NO_ASSUME_ROLE"
DEFAULT_ROLE_NAME = "TerraformExecutionRole"
SESSION_NAME = "ml-clusters-capacity"

Purpose = Literal["read", "buy"]

# Reads retry on throttling; purchases are never retried by botocore: PurchaseCapacityBlock has no client
# token, so a retried request after a lost answer could buy the block twice.
_CONFIGS: dict[Purpose, Config] = {
    "read": Config(retries={"mode": "standard", "total_max_attempts": 4}, user_agent_extra="ml-clusters"),
    "buy": Config(retries={"mode": "standard", "total_max_attempts": 1}, user_agent_extra="ml-clusters",
                  read_timeout=120),
}


@dataclass(frozen=True)
class Target:
    """Where capacity is searched for or bought: an estate account (or the ambient one) and a Region."""

    region: str
    account_id: str | None = None  # None: whatever account the ambient credentials belong to
    account_label: str | None = None  # "main-account" — for messages
    role: str | None = None  # role name or ARN template; None → ML_CLUSTERS_CAPACITY_ROLE or the default

    def describe(self) -> str:
        who = self.account_label or self.account_id or "ambient credentials"
        return f"{who} / {self.region}"


def assume_role_wanted() -> bool:
    return not (os.environ.get("AWS_ENDPOINT_URL") or os.environ.get(NO_ASSUME_ROLE_ENV))


def role_arn(account_id: str, role: str | None = None) -> str:
    role = role or os.environ.get(ROLE_ENV) or DEFAULT_ROLE_NAME
    if role.startswith("arn:"):
        return role.replace("{account_id}", account_id)
    return f"arn:aws:iam::{account_id}:role/{role}"


_sessions: dict[tuple, boto3.Session] = {}
_lock = threading.Lock()


def session_for(target: Target) -> boto3.Session:
    """A boto3 session in `target`'s Region, holding credentials of `target`'s account."""
    if target.account_id is None or not assume_role_wanted():
        return boto3.Session(region_name=target.region)
    arn = role_arn(target.account_id, target.role)
    key = (arn, target.region)
    with _lock:
        if key in _sessions:
            return _sessions[key]
    base = boto3.Session(region_name=target.region)
    try:
        session = assume_role_session(
            base.client("sts", config=_CONFIGS["read"]), arn, SESSION_NAME, region=target.region
        ).session
    except Exception as exc:  # noqa: BLE001 — every failure becomes one line naming the role
        raise CapacityError(f"cannot assume {arn}: {explain(exc, action='sts:AssumeRole')} "
                            f"(set {ROLE_ENV}, or {NO_ASSUME_ROLE_ENV}=1 to use your own credentials)") from None
    with _lock:
        _sessions[key] = session
    return session


def make_client(service: str, target: Target, *, purpose: Purpose = "read") -> BaseClient:
    return session_for(target).client(service, config=_CONFIGS[purpose])


# The seam the tests use to hand out botocore-Stubber-wrapped clients (tests/capacity/stubsite).
client_factory: Callable[..., BaseClient] = make_client


def client(service: str, target: Target, *, purpose: Purpose = "read") -> BaseClient:
    return client_factory(service, target, purpose=purpose)


def has_operation(aws_client: BaseClient, python_name: str) -> bool:
    """Whether this botocore knows the operation (newer ops such as describe_capacity_blocks may be absent)."""
    return python_name in aws_client.meta.method_to_api_mapping


def pages(call: Callable[..., Mapping[str, Any]], key: str, **params: Any) -> Iterator[Mapping[str, Any]]:
    """Every item under `key` of a NextToken-paginated call (EC2 and SageMaker paginate alike)."""
    token = None
    while True:
        page = call(**params, **({"NextToken": token} if token else {}))
        yield from page.get(key, ())
        token = page.get("NextToken")
        if not token:
            return


def require_operation(aws_client: BaseClient, python_name: str) -> None:
    if not has_operation(aws_client, python_name):
        import botocore

        raise CapacityError(
            f"the installed botocore {botocore.__version__} has no {aws_client.meta.service_model.service_name}."
            f"{python_name}; upgrade boto3/botocore")


def verify_account(target: Target, *, action: str) -> None:
    """Refuse unless the credentials that will make the purchase belong to `target`'s account.

    Without assume-role (AWS_ENDPOINT_URL or ML_CLUSTERS_NO_ASSUME_ROLE), --account would otherwise only
    change labels and tags while the ambient identity pays; a wrongly configured role could do the same.
    So every purchase asks STS — on the very session the purchase uses — who is calling.
    """
    if target.account_id is None:
        return  # no account named: the command acts in the ambient account by design, and says so
    from ml_clusters.capacity.errors import AWS_ERRORS

    try:
        actual = client("sts", target).get_caller_identity().get("Account")
    except AWS_ERRORS as exc:
        raise CapacityError(f"{action}: cannot confirm which account the credentials belong to "
                            f"({explain(exc, action='sts:GetCallerIdentity')}); nothing bought") from None
    if actual != target.account_id:
        how = ("ambient credentials are used as is because "
               + ("AWS_ENDPOINT_URL" if os.environ.get("AWS_ENDPOINT_URL") else NO_ASSUME_ROLE_ENV) + " is set"
               if not assume_role_wanted() else f"the role assumed was {role_arn(target.account_id, target.role)}")
        raise CapacityError(f"{action}: refusing to buy in {target.account_label or target.account_id} "
                            f"({target.account_id}): the credentials in use belong to account {actual or 'unknown'} "
                            f"({how}); nothing bought")
