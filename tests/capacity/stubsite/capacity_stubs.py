"""Test-only: hand ml_clusters.capacity botocore clients wrapped in a Stubber.

A scenario is a Python file defining CALLS, a list of dicts in call order:
    {"service": "ec2", "method": "describe_capacity_block_offerings", "response": {...},
     "expected_params": {...} | None}
    {"service": "ec2", "method": "purchase_capacity_block", "error": {"code": "...", "message": "...",
     "status": 400}, "expected_params": {...} | None}
Responses and parameters are validated by the Stubber against the real service model, so a wrong field
name or type fails the test. "<ANY>" in expected_params matches any value. Every call the code makes is
appended (service, method, params) to the JSON-lines file $ML_CLUSTERS_TEST_CALL_LOG when set.

Loaded in-process by the tests (install(path)) and in `ml-clusters` subprocesses by ./sitecustomize.py —
never by the package itself.
"""

from __future__ import annotations

import json
import os
import runpy
from datetime import datetime, timezone
from typing import Any

import botocore.session
from botocore.stub import ANY, Stubber

ANY_MARK = "<ANY>"


def _any(value: Any) -> Any:
    if value == ANY_MARK:
        return ANY
    if isinstance(value, dict):
        return {k: _any(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_any(v) for v in value]
    return value


class StubbedClients:
    """One Stubber-wrapped client per service, with every queued response in scenario order."""

    def __init__(self, calls: list[dict], region: str = "us-east-1", call_log: str | None = None):
        self.calls = calls
        self.region = region
        self.call_log = call_log
        self.made: list[tuple[str, str, dict]] = []
        self.clients: dict[str, Any] = {}
        self.stubbers: dict[str, Stubber] = {}
        session = _session()
        for service in dict.fromkeys(c["service"] for c in calls) or ("ec2",):
            client = session.create_client(service, region_name=region, aws_access_key_id="testing",
                                           aws_secret_access_key="testing")
            client.meta.events.register("before-parameter-build.*.*", self._log)
            self.clients[service] = client
            self.stubbers[service] = Stubber(client)
        for call in calls:
            stubber = self.stubbers[call["service"]]
            expected = _any(call.get("expected_params")) if call.get("expected_params") is not None else None
            if "error" in call:
                err = call["error"]
                stubber.add_client_error(call["method"], service_error_code=err["code"],
                                         service_message=err.get("message", ""),
                                         http_status_code=err.get("status", 400), expected_params=expected)
            else:
                stubber.add_response(call["method"], call["response"], expected)
        for stubber in self.stubbers.values():
            stubber.activate()

    def _log(self, params, model, **_):
        service = model.service_model.service_name
        entry = (service, _py_name(model.name), params)
        self.made.append(entry)
        if self.call_log:
            with open(self.call_log, "a") as fh:
                fh.write(json.dumps([service, _py_name(model.name), params], default=str) + "\n")

    def factory(self, service, target, *, purpose="read"):
        if service not in self.clients:
            raise AssertionError(f"the scenario has no {service} calls, but the code asked for a {service} client")
        return self.clients[service]

    def methods_called(self) -> list[str]:
        return [m for _, m, _ in self.made]

    def pending(self) -> int:
        return sum(len(s._queue) for s in self.stubbers.values())


_SESSION = None


def _session():
    """One botocore session per process: it caches the (large) service models between scenarios."""
    global _SESSION
    if _SESSION is None:
        _SESSION = botocore.session.get_session()
    return _SESSION


def _py_name(op_name: str) -> str:
    from botocore import xform_name

    return xform_name(op_name)


def load(path: str) -> list[dict]:
    return runpy.run_path(path)["CALLS"]


def install(path: str, call_log: str | None = None):
    """Point ml_clusters.capacity.aws at stubbed clients for the scenario in `path`; return them."""
    from ml_clusters.capacity import aws

    stubbed = StubbedClients(load(path), call_log=call_log)
    aws.client_factory = stubbed.factory
    return stubbed


def install_now(iso: str) -> None:
    from ml_clusters.capacity import clock

    fixed = datetime.fromisoformat(iso).astimezone(timezone.utc)
    clock.now = lambda: fixed


def install_from_env() -> None:
    path = os.environ.get("ML_CLUSTERS_TEST_STUBS")
    if path:
        install(path, os.environ.get("ML_CLUSTERS_TEST_CALL_LOG"))
    if os.environ.get("ML_CLUSTERS_TEST_NOW"):
        install_now(os.environ["ML_CLUSTERS_TEST_NOW"])
