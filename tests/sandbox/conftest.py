"""Fixtures: the sandbox's own emulator (moto server + control endpoint), seeded from the real live tree."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from ml_clusters.estate import Estate, default_live_dir, load_estate
from ml_clusters.sandbox import faults as fault_injection
from ml_clusters.sandbox import replication_metrics
from ml_clusters.sandbox.aws import AccountClients
from ml_clusters.sandbox.emulator import Emulator
from ml_clusters.sandbox.seed import SeedResult, seed_estate


@dataclass
class Seeded:
    emulator: Emulator
    estate: Estate
    clients: AccountClients
    result: SeedResult
    faults: list[fault_injection.Fault]
    rules: list[replication_metrics.ReplicationRule]

    def fault(self, kind: str) -> fault_injection.Fault:
        return next(f for f in self.faults if f.kind == kind)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    with Emulator.start(workdir=tmp_path_factory.mktemp("emulator")) as emu:
        yield emu


@pytest.fixture(scope="module")
def seeded(emulator) -> Seeded:
    """The estate seeded as `ml-clusters sandbox` seeds it, faults included."""
    estate = load_estate(default_live_dir())
    clients = AccountClients(emulator.url)
    result = seed_estate(estate, clients)
    lagging = fault_injection.lagging_replica(result)
    rules = fault_injection.replication_rules(result, lagging)
    replication_metrics.seed_history(clients, rules)
    faults = fault_injection.inject(result, clients, emulator, lagging, rules)
    return Seeded(emulator, estate, clients, result, faults, rules)
