"""The monitoring probes, pointed at the seeded sandbox, find exactly the injected faults — and nothing else.

This is the contract between seeding and the sensors: seeding must create what the sensors look for
(unit tags, bucket names, replication rules, metrics in the right account/region, node groups, HyperPod
nodes, state files), so that a healthy unit reads healthy and each fault is found on its unit.
"""

from __future__ import annotations

import pytest

from ml_clusters.resources.aws import AwsAccounts, clear_session_cache
from ml_clusters.sensors import capacity, drift, health, replication
from ml_clusters.sensors.core import ProbeContext, run_probe
from ml_clusters.sensors.settings import MonitoringSettings
from ml_clusters.translator import TerragruntTranslator


@pytest.fixture(scope="module")
def probe_ctx(seeded):
    mp = pytest.MonkeyPatch()
    for name, value in seeded.emulator.environment().items():
        mp.setenv(name, value)
    clear_session_cache()
    drift.clear_state_cache()
    yield ProbeContext(
        estate=seeded.estate,
        aws=AwsAccounts(endpoint_url=seeded.emulator.url, max_attempts=1),
        settings=MonitoringSettings(),
        asset_key_for=TerragruntTranslator().get_asset_key,
    )
    mp.undo()
    clear_session_cache()


def _verdicts(probe, probe_ctx, units):
    report = run_probe(probe, probe_ctx, units)
    return report, {path: outcome.passed for path, outcome in report.outcomes.items()}


def test_replication_probe_fails_only_the_lagging_replica_and_the_replication_unit(seeded, probe_ctx):
    units = replication.target_units(seeded.estate)
    report, verdicts = _verdicts(replication.probe, probe_ctx, units)
    lagging = seeded.fault("replication-lag").unit
    assert not report.skips and not report.unknown
    failing = {p for p, ok in verdicts.items() if not ok}
    assert failing == {lagging, "main-account/us-east-1/s3-replication"}
    assert set(verdicts) == {u.path for u in units}
    assert report.observations[lagging]["max_latency_seconds"] > 900
    assert report.observations[lagging]["rules"] == 2  # datasets/ and checkpoints/ into that replica


def test_health_probe_fails_the_degraded_eks_unit_and_the_hyperpod_unit_only(seeded, probe_ctx):
    units = health.target_units(seeded.estate)
    report, verdicts = _verdicts(health.probe, probe_ctx, units)
    failing = {p for p, ok in verdicts.items() if not ok}
    assert failing == {seeded.fault("nodegroup-degraded").unit, seeded.fault("hyperpod-node-failure").unit}
    # The emulator's FSx reports no Lifecycle: the storage units are unknown, never counted healthy.
    storage = {u.path for u in units if u.module == "shared-storage"}
    assert set(verdicts) == {u.path for u in units} - storage
    assert "DEGRADED" in report.outcomes[seeded.fault("nodegroup-degraded").unit].description
    assert storage and set(report.unknown) == storage
    assert all("does not report Lifecycle" in report.unknown[p] for p in storage)
    # every cluster unit was actually found in the emulator, none judged on an empty slice
    for unit in units:
        if unit.module in {"eks-cluster", "hyperpod", "parallelcluster"}:
            assert report.observations[unit.path]["components"] >= 1, unit.path


def test_drift_probe_finds_only_the_hand_edited_vpc(seeded, probe_ctx):
    units = drift.target_units(seeded.estate)
    report, verdicts = _verdicts(drift.probe, probe_ctx, units)
    drifted = seeded.fault("vpc-tag-drift").unit
    assert not report.unknown, report.unknown
    assert {p for p, ok in verdicts.items() if not ok} == {drifted}
    # Every unit is judged, except those with no resource of the compared set (IAM, ECR, Helm...):
    # for them the probe reports counts only, never a pass.
    compared = {p for p, numbers in report.observations.items() if numbers["resources_compared"] > 0}
    assert set(verdicts) == compared
    assert set(report.observed_only) == {u.path for u in units} - compared
    assert {"main-account/us-east-1/iam", "main-account/us-east-1/ecr"} <= set(report.observed_only)
    assert report.observations[drifted]["drifted_attributes"] == 2  # Name changed, DebugSession added
    assert sum(report.observations[u.path]["resources_compared"] for u in units) > 50
    # The security-group rules the modules manage as separate resources are compared, by rule id.
    rules = [
        r
        for u in units
        if u.module in {"networking", "shared-storage"}
        for r in seeded.result.units[u.path].state.resources
        if r.type.startswith("aws_vpc_security_group_")
    ]
    assert rules and all(r.attributes["security_group_rule_id"].startswith("sgr-") for r in rules)


def test_capacity_probe_says_the_emulator_lacks_capacity_blocks(seeded, probe_ctx):
    units = capacity.target_units(seeded.estate)
    report = run_probe(capacity.probe, probe_ctx, units)
    reasons = " ".join(str(s) for s in report.skips) + " ".join(report.unknown.values())
    assert "not supported" in reasons
    capacity_units = [u.path for u in units if u.module == "capacity-block"]
    assert capacity_units and all(p in report.unknown for p in capacity_units)
