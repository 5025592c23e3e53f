"""replication_lag_sensor against the emulator: rules configured on the central bucket, metrics in
CloudWatch as S3 publishes them, buckets mapped to units by their unit tag."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import dagster as dg
from pydantic import Field

from ml_clusters.resources.aws import AwsAccounts
from ml_clusters.sensors.settings import MonitoringSettings

from tests.monitoring.emulator import MAIN, SECONDARY, Emulator
from tests.monitoring.helpers import evaluations, monitoring_defs, observations, tick

CENTRAL = "ml-clusters-data-483026362307-us-east-1"
REPLICAS = {
    "main-account/us-west-2/s3-data-replica": (MAIN, "us-west-2", "ml-clusters-data-483026362307-us-west-2"),
    "secondary-account/us-east-1/s3-data-replica": (SECONDARY, "us-east-1", "ml-clusters-data-159553542841-us-east-1"),
    "secondary-account/us-west-2/s3-data-replica": (SECONDARY, "us-west-2", "ml-clusters-data-159553542841-us-west-2"),
}
RULE_OF = {unit: f"to-{bucket.split('data-', 1)[1]}" for unit, (_, _, bucket) in REPLICAS.items()}
SLOW = "secondary-account/us-east-1/s3-data-replica"

T0 = datetime.now(timezone.utc).replace(microsecond=0)


def seed_hub_and_spoke(emulator: Emulator) -> None:
    emulator.bucket(MAIN, "us-east-1", CENTRAL, "main-account/us-east-1/s3-central-data")
    for unit, (account, region, bucket) in REPLICAS.items():
        emulator.bucket(account, region, bucket, unit)
    emulator.replication(MAIN, "us-east-1", CENTRAL, {RULE_OF[u]: b for u, (_, _, b) in REPLICAS.items()})


def publish(emulator: Emulator, unit: str, latency: float, at: datetime, failed: float = 0) -> None:
    _, region, bucket = REPLICAS[unit]
    # Latency is published in the destination's Region, in the source owner's (main) account.
    emulator.replication_metrics(MAIN, region, CENTRAL, bucket, RULE_OF[unit], latency=latency, failed_operations=failed, at=at)


def clock_at(moment: datetime):
    return lambda: moment


def test_replication_check_flips_on_latency_and_back(emulator, estate, translator, instance):
    seed_hub_and_spoke(emulator)
    for unit in REPLICAS:
        publish(emulator, unit, latency=120, at=T0 - timedelta(minutes=3))

    result = tick(monitoring_defs(estate, translator, clock=clock_at(T0)), "replication_lag_sensor", instance)
    checks = evaluations(result)
    assert set(checks) == {"main-account/us-east-1/s3-replication", *REPLICAS}
    assert all(e.passed for e in checks.values()), {k: e.description for k, e in checks.items()}
    assert checks["main-account/us-east-1/s3-replication"].metadata["rule_table"].value.count("| to-") == 3

    # One rule falls 20 minutes behind (RTC promises 15); the other two stay within.
    later = T0 + timedelta(minutes=5)
    publish(emulator, SLOW, latency=1200, at=later - timedelta(minutes=1))
    result = tick(monitoring_defs(estate, translator, clock=clock_at(later)), "replication_lag_sensor", instance, cursor=result.cursor)
    checks = evaluations(result)
    slow = checks[SLOW]
    assert not slow.passed and slow.severity == dg.AssetCheckSeverity.ERROR
    assert slow.metadata["rule_id"].value == RULE_OF[SLOW]
    assert slow.metadata["source_bucket"].value == CENTRAL
    assert slow.metadata["destination_bucket"].value == REPLICAS[SLOW][2]
    assert "1200s > 900s" in slow.description
    assert not checks["main-account/us-east-1/s3-replication"].passed  # the hub sees every rule
    assert checks["main-account/us-west-2/s3-data-replica"].passed
    assert checks["secondary-account/us-west-2/s3-data-replica"].passed
    numbers = observations(result)[SLOW]
    assert numbers["replication/max_latency_seconds"] == 1200
    assert numbers["replication/rules_over_rtc"] == 1

    # The backlog drains: the next window only holds the recovered latency.
    recovered = later + timedelta(minutes=20)
    publish(emulator, SLOW, latency=60, at=recovered - timedelta(minutes=2))
    for unit in set(REPLICAS) - {SLOW}:
        publish(emulator, unit, latency=30, at=recovered - timedelta(minutes=2))
    result = tick(monitoring_defs(estate, translator, clock=clock_at(recovered)), "replication_lag_sensor", instance, cursor=result.cursor)
    checks = evaluations(result)
    assert all(e.passed for e in checks.values()), {k: e.description for k, e in checks.items()}


def test_failed_operations_fail_the_rule_even_with_low_latency(emulator, estate, translator, instance):
    seed_hub_and_spoke(emulator)
    for unit in REPLICAS:
        publish(emulator, unit, latency=30, at=T0 - timedelta(minutes=2), failed=3 if unit == SLOW else 0)
    checks = evaluations(tick(monitoring_defs(estate, translator, clock=clock_at(T0)), "replication_lag_sensor", instance))
    assert not checks[SLOW].passed
    assert "3 failed operation(s)" in checks[SLOW].description
    assert checks["main-account/us-west-2/s3-data-replica"].passed


def test_rules_without_metrics_warn_instead_of_passing(emulator, estate, translator, instance):
    seed_hub_and_spoke(emulator)  # rules exist, but S3 has not published anything yet
    checks = evaluations(tick(monitoring_defs(estate, translator, clock=clock_at(T0)), "replication_lag_sensor", instance))
    hub = checks["main-account/us-east-1/s3-replication"]
    assert not hub.passed and hub.severity == dg.AssetCheckSeverity.WARN
    assert "no replication metrics" in hub.description


def test_silence_passes_with_a_note_when_the_team_turns_the_warning_off(emulator, estate, translator, instance):
    seed_hub_and_spoke(emulator)
    quiet = MonitoringSettings(replication_silence_warns=False)
    defs = monitoring_defs(estate, translator, clock=clock_at(T0), settings=quiet)
    hub = evaluations(tick(defs, "replication_lag_sensor", instance))["main-account/us-east-1/s3-replication"]
    assert hub.passed, hub.description
    assert "3 without metrics in the last 15 min (not warned" in hub.description
    assert hub.metadata["rules_without_data"].value == 3  # still counted, and plotted


# Dagster re-creates resources from their config, so what the recorder saw lives here, keyed by a field.
_QUERIES_SENT: dict[str, list[int]] = {}


class QueryRecordingAwsAccounts(AwsAccounts):
    """The real clients, plus a note of how many queries every GetMetricData request carried."""

    recorder: str = Field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def queries_per_request(self) -> list[int]:
        return _QUERIES_SENT.setdefault(self.recorder, [])

    def _identity(self) -> tuple:
        return (*super()._identity(), self.recorder)  # never share a cached client with other tests

    def _new_client(self, session: Any, service: str) -> Any:
        client = super()._new_client(session, service)
        sent = self.queries_per_request

        def record(params: dict[str, Any], **_: Any) -> None:
            sent.append(len(params["MetricDataQueries"]))

        client.meta.events.register("before-parameter-build.cloudwatch.GetMetricData", record)
        return client


def test_a_rule_with_many_datapoints_is_queried_and_counted_once(emulator, estate, translator, instance):
    # The emulator lists a metric once per datapoint (CloudWatch lists it once): three publications
    # of one rule must still be one series per metric, and 3 + 3 + 3 failures must read as 9.
    seed_hub_and_spoke(emulator)
    for minutes_ago in (2, 5, 8):
        publish(emulator, SLOW, latency=30, at=T0 - timedelta(minutes=minutes_ago), failed=3)
    aws = QueryRecordingAwsAccounts()

    result = tick(monitoring_defs(estate, translator, clock=clock_at(T0)), "replication_lag_sensor", instance, aws=aws)

    slow = evaluations(result)[SLOW]
    assert not slow.passed
    assert "9 failed operation(s)" in slow.description
    assert observations(result)[SLOW]["replication/failed_operations"] == 9
    assert observations(result)["main-account/us-east-1/s3-replication"]["replication/failed_operations"] == 9
    # One query per metric of the one rule with data (latency, pending ops, pending bytes, failures).
    assert aws.queries_per_request == [4]
