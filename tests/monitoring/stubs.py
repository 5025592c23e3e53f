"""botocore Stubbers for the APIs the emulator lacks (capacity blocks, training plans) or cannot put
in a failure state (EKS DEGRADED, HyperPod node Failure, FSx Lifecycle). A Stubber validates every
request and every canned response against the real service model, so a wrong field fails the test.
"""

from __future__ import annotations

import uuid
from typing import Any

import boto3
from botocore.stub import Stubber
from pydantic import Field

from ml_clusters.resources.aws import AwsAccounts


_REGISTRY: dict[str, dict[tuple[str, str, str], tuple[Any, Stubber]]] = {}


class StubbedAwsAccounts(AwsAccounts):
    """AwsAccounts whose client for chosen (account, region, service) triples is a Stubber's client;
    every other client is the real one (the emulator over HTTP)."""

    # Dagster re-creates resources from their config, so the stubs live in a registry keyed by a
    # config field rather than on the instance.
    stub_set: str = Field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def _stubbed(self) -> dict[tuple[str, str, str], tuple[Any, Stubber]]:
        return _REGISTRY.setdefault(self.stub_set, {})

    def stub(self, account_id: str, region: str, service: str) -> Stubber:
        key = (account_id, region, service)
        if key not in self._stubbed:
            client = boto3.client(
                service,
                region_name=region,
                aws_access_key_id="stub",
                aws_secret_access_key="stub",
                endpoint_url="http://127.0.0.1:9",  # never contacted: the Stubber answers
            )
            stubber = Stubber(client)
            stubber.activate()
            self._stubbed[key] = (client, stubber)
        return self._stubbed[key][1]

    def unstub(self, account_id: str, region: str, service: str) -> None:
        client, stubber = self._stubbed.pop((account_id, region, service))
        stubber.assert_no_pending_responses()
        stubber.deactivate()

    def assert_all_consumed(self) -> None:
        for _, stubber in self._stubbed.values():
            stubber.assert_no_pending_responses()

    def client(self, account_id: str, region: str, service: str) -> Any:
        stubbed = self._stubbed.get((account_id, region, service))
        return stubbed[0] if stubbed else super().client(account_id, region, service)


def replay(stubber: Stubber, real_client: Any, operation: str, params: dict[str, Any], change=None) -> dict[str, Any]:
    """Ask the emulator for the real answer, optionally change it (the one field the emulator cannot
    express, e.g. a DEGRADED status), and queue it on the Stubber — validated against the model."""
    response = getattr(real_client, operation)(**params)
    response.pop("ResponseMetadata", None)
    if change is not None:
        change(response)
    stubber.add_response(operation, response, params)
    return response
