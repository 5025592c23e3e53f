"""Fixtures of the monitoring tests: one moto server per test session (real HTTP on loopback), reset
before every test, and the real estate read from terraform/live."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import dagster as dg
import pytest

from ml_clusters.estate import Estate, default_live_dir, load_estate
from ml_clusters.resources.aws import clear_session_cache
from ml_clusters.sensors.drift import clear_state_cache
from ml_clusters.translator import TerragruntTranslator
from tests.monitoring.emulator import Emulator
from tests.support.moto_server import emulator_environment, moto_server, reset


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def emulator(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """A clean emulator, and boto3 in this process pointed at it (as AWS_ENDPOINT_URL does in a demo)."""
    reset(moto_endpoint)
    clear_session_cache()  # credentials issued before the reset no longer exist in the emulator
    clear_state_cache()
    for name, value in emulator_environment(moto_endpoint).items():
        monkeypatch.setenv(name, value)
    return Emulator(moto_endpoint)


@pytest.fixture(scope="session")
def estate() -> Estate:
    return load_estate(default_live_dir())


@pytest.fixture(scope="session")
def translator() -> TerragruntTranslator:
    return TerragruntTranslator()


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


# botocore's debug chatter would drown the sensors' own warnings in failure reports.
logging.getLogger("botocore").setLevel(logging.WARNING)
