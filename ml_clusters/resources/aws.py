"""Read-only AWS access to every account of the estate, for the monitoring sensors.

`AwsAccounts` hands out boto3 clients per (account, region, service). In each account it assumes a
read-only observer role (default `MlClustersObserver`) from whatever base credentials boto3 finds
(environment, profile, instance role), so plain boto3 configuration keeps working — including
`AWS_ENDPOINT_URL`, which points everything, STS included, at the AWS emulator in tests and demos.

Sessions are cached per process for the lifetime of their credentials: the Dagster code server that
evaluates sensors is long-lived, so a tick normally costs no STS call at all.

Two behaviours the sensors rely on:
- every HTTP request is counted in the active `ApiCallTally` (see `count_api_calls`), which is how
  sensors report "API calls per tick" and how the benchmark compares strategies;
- an endpoint that answers HTTP 500 with an HTML page (what the moto emulator does for an API it has
  not implemented — AWS itself always answers in the API's protocol) raises `OperationNotSupported`
  at once instead of being retried, so a missing API costs one request, not a back-off cycle.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import dagster as dg
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import Field

from ml_clusters.resources.assume_role import assume_role_session

DEFAULT_OBSERVER_ROLE = "MlClustersObserver"

# Refresh assumed-role credentials this long before they expire.
_REFRESH_MARGIN_SECONDS = 300
# After a failed assume-role, fail fast for this long: an unreachable account must cost one timeout
# per tick, not one per API a sensor wants to call there.
_FAILURE_MEMORY_SECONDS = 60


class SliceUnavailable(Exception):
    """An account/region cannot be observed right now (assume-role failed, endpoint unreachable...)."""

    def __init__(self, account_id: str, region: str, reason: str):
        self.account_id = account_id
        self.region = region
        self.reason = reason
        super().__init__(f"account {account_id} region {region}: {reason}")


class OperationNotSupported(Exception):
    """The endpoint does not implement this API operation (e.g. the emulator lacks it)."""

    def __init__(self, service: str, operation: str, endpoint: str):
        self.service = service
        self.operation = operation
        self.endpoint = endpoint
        super().__init__(
            f"{service} {operation} is not supported by the endpoint {endpoint} "
            "(it answered HTTP 500 with an HTML page, not an AWS API response)"
        )


# --- API call counting -------------------------------------------------------------------------------


@dataclass
class ApiCallTally:
    """HTTP requests sent to AWS while this tally is active, by "service.Operation"."""

    calls: Counter = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str) -> None:
        with self._lock:
            self.calls[name] += 1

    @property
    def total(self) -> int:
        return sum(self.calls.values())


# Every tally active in this context; nested tallies all count (a sensor tick inside a benchmark).
_active_tallies: contextvars.ContextVar[tuple[ApiCallTally, ...]] = contextvars.ContextVar(
    "ml_clusters_api_tallies", default=()
)


@contextlib.contextmanager
def count_api_calls() -> Iterator[ApiCallTally]:
    """Count the AWS requests made in this context (and in threads started with its contextvars)."""
    tally = ApiCallTally()
    token = _active_tallies.set((*_active_tallies.get(), tally))
    try:
        yield tally
    finally:
        _active_tallies.reset(token)


def record_api_call(name: str) -> None:
    """Count a request made outside boto3 clients (e.g. a signed call to an API Gateway URL)."""
    for tally in _active_tallies.get():
        tally.add(name)


def _count_request(event_name: str, **_: Any) -> None:
    # event_name is "before-send.<service-id>.<Operation>"
    record_api_call(event_name.split(".", 1)[1])


def _instrument(client: Any) -> Any:
    endpoint = client.meta.endpoint_url

    def refuse_html_errors(event_name: str, response_dict: dict, **_: Any) -> None:
        # Raised here (before parsing) the exception bypasses botocore's retry loop on purpose.
        if response_dict.get("status_code") != 500:
            return
        content_type = str(response_dict.get("headers", {}).get("content-type", ""))
        if content_type.startswith("text/html"):
            _, service, operation = event_name.split(".", 2)
            raise OperationNotSupported(service, operation, endpoint)

    events = client.meta.events
    events.register("before-send", _count_request)
    events.register_first("before-parse", refuse_html_errors)
    return client


# --- the session pool (process-wide, survives sensor ticks) ------------------------------------------


@dataclass
class _CachedSession:
    session: boto3.Session
    expires_at: float  # epoch seconds; inf for base credentials
    clients: dict[str, Any] = field(default_factory=dict)


_pool: dict[tuple, _CachedSession] = {}
_failures: dict[tuple, tuple[float, SliceUnavailable]] = {}
_pool_lock = threading.Lock()


def clear_session_cache() -> None:
    """Forget every cached session and remembered failure (tests and benchmarks need a cold start)."""
    with _pool_lock:
        _pool.clear()
        _failures.clear()


def describe_aws_error(error: BaseException) -> str:
    """A one-line, user-facing reason for an AWS failure; names the category first."""
    if isinstance(error, SliceUnavailable):
        return error.reason
    if isinstance(error, OperationNotSupported):
        return f"not supported by this endpoint: {error}"
    if isinstance(error, ClientError):
        err = error.response.get("Error", {})
        code = str(err.get("Code", "Unknown"))
        # Some endpoints answer in another protocol than the client speaks (an XML error to a JSON
        # API): keep the words, drop the markup, stay on one line.
        message = " ".join(re.sub(r"<[^>]+>|<\?xml[^>]*>", " ", str(err.get("Message", ""))).split())[:300]
        text = f"{code}: {message}" if message else code
        lowered = code.lower()
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if (
            "accessdenied" in lowered
            or status == 403
            or code in {"UnauthorizedOperation", "AuthFailure", "InvalidClientTokenId", "ExpiredToken"}
        ):
            return f"access denied ({text})"
        if "throttl" in lowered or code in {"RequestLimitExceeded", "TooManyRequestsException", "SlowDown"}:
            return f"throttled even after retries ({text})"
        if code in {"InvalidAction", "UnknownOperationException", "UnsupportedOperation", "OptInRequired", "InvalidEndpoint"}:
            return f"API not available in this region ({text})"
        return f"AWS error ({text})"
    if isinstance(error, BotoCoreError):
        name = type(error).__name__
        if "Endpoint" in name or "Connect" in name or "Timeout" in name:
            return f"unreachable ({error})"
        if name in {"NoCredentialsError", "PartialCredentialsError", "ProfileNotFound"}:
            return f"no usable AWS credentials ({error})"
        return f"{name}: {error}"
    return f"unexpected {type(error).__name__}: {error}"


class AwsAccounts(dg.ConfigurableResource):
    """boto3 clients per account and region, through a read-only observer role in each account.

    Leave everything unset in production: base credentials come from boto3's usual chain and the
    observer role `arn:aws:iam::<account id>:role/MlClustersObserver` is assumed in every account of
    the estate. Set `AWS_ENDPOINT_URL` (or `endpoint_url`) to use an emulator.
    """

    observer_role_name: str = Field(default=DEFAULT_OBSERVER_ROLE, description="Role assumed in every account.")
    assume_observer_role: bool = Field(
        default=True,
        description="Assume the observer role per account. Off: use the base credentials for every account.",
    )
    profile_name: str | None = Field(
        default=None,
        description="boto3 profile: the base credentials, and the configuration (endpoint_url, ca_bundle, "
        "retries) of every session, the assumed observer-role sessions included.",
    )
    endpoint_url: str | None = Field(
        default=None, description="Endpoint for every service (else boto3's own, incl. AWS_ENDPOINT_URL)."
    )
    role_session_name: str = Field(default="ml-clusters-observer")
    session_duration_seconds: int = Field(default=3600, ge=900, le=43200)
    max_attempts: int = Field(default=4, ge=1, description="Attempts per call, adaptive retry mode.")
    connect_timeout_seconds: float = Field(default=5.0, gt=0)
    read_timeout_seconds: float = Field(default=20.0, gt=0)

    def _identity(self) -> tuple:
        return (
            self.observer_role_name,
            self.assume_observer_role,
            self.profile_name,
            self.endpoint_url,
            self.role_session_name,
            self.session_duration_seconds,
            self.max_attempts,
            self.connect_timeout_seconds,
            self.read_timeout_seconds,
        )

    def botocore_config(self) -> Config:
        return Config(
            retries={"mode": "adaptive", "total_max_attempts": self.max_attempts},
            connect_timeout=self.connect_timeout_seconds,
            read_timeout=self.read_timeout_seconds,
        )

    def role_arn(self, account_id: str) -> str:
        return f"arn:aws:iam::{account_id}:role/{self.observer_role_name}"

    def _base_session(self, region: str) -> boto3.Session:
        return boto3.Session(profile_name=self.profile_name, region_name=region)

    def _new_client(self, session: boto3.Session, service: str) -> Any:
        kwargs: dict[str, Any] = {"config": self.botocore_config()}
        if self.endpoint_url:
            kwargs["endpoint_url"] = self.endpoint_url
        return _instrument(session.client(service, **kwargs))

    def _open_session(self, account_id: str, region: str) -> _CachedSession:
        base = self._base_session(region)
        if not self.assume_observer_role:
            return _CachedSession(base, float("inf"))
        try:
            assumed = assume_role_session(
                self._new_client(base, "sts"),
                self.role_arn(account_id),
                self.role_session_name,
                region=region,
                duration_seconds=self.session_duration_seconds,
                profile_name=self.profile_name,
            )
        except (ClientError, BotoCoreError, OperationNotSupported) as error:
            raise SliceUnavailable(
                account_id, region, f"cannot assume {self.role_arn(account_id)}: {describe_aws_error(error)}"
            ) from error
        return _CachedSession(assumed.session, assumed.expires_at)

    def _session(self, account_id: str, region: str) -> _CachedSession:
        key = (self._identity(), account_id, region)
        now = time.time()
        with _pool_lock:
            cached = _pool.get(key)
            if cached is not None and cached.expires_at - _REFRESH_MARGIN_SECONDS > now:
                return cached
            failed = _failures.get(key)
            if failed is not None and failed[0] > now:
                raise failed[1]
        try:
            fresh = self._open_session(account_id, region)  # outside the lock: STS may be slow
        except SliceUnavailable as error:
            with _pool_lock:
                _failures[key] = (time.time() + _FAILURE_MEMORY_SECONDS, error)
            raise
        with _pool_lock:
            _pool[key] = fresh
            _failures.pop(key, None)
        return fresh

    def client(self, account_id: str, region: str, service: str) -> Any:
        """A boto3 client for `service` in `account_id`/`region`, via the observer role.

        Raises `SliceUnavailable` when the account cannot be entered. Clients are shared: they are
        thread-safe, and reusing them keeps connection pools and the adaptive rate limiter warm.
        """
        cached = self._session(account_id, region)
        with _pool_lock:
            client = cached.clients.get(service)
            if client is None:
                client = cached.clients[service] = self._new_client(cached.session, service)
        return client

    def credentials(self, account_id: str, region: str) -> Any:
        """Frozen botocore credentials of the observer session, for signing non-boto3 requests (SigV4)."""
        return self._session(account_id, region).session.get_credentials().get_frozen_credentials()
