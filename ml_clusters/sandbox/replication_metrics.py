"""S3 replication metric series (CloudWatch `AWS/S3`), as S3 publishes them for rules with RTC metrics on.

Where AWS publishes them (S3 user guide, "Using S3 Replication metrics"): in the source bucket owner's
account; ReplicationLatency / OperationsPendingReplication / BytesPendingReplication in the destination
bucket's region, OperationsFailedReplication in the source bucket's region; dimensions SourceBucket,
DestinationBucket, RuleId. Seeding writes the last HISTORY (3 h) at STEP (5 min) resolution; the sandbox
then keeps appending a point every STEP while it runs, so the UI's plots move.
"""

from __future__ import annotations

import math
import random
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from ml_clusters.sandbox.aws import AccountClients

HISTORY = timedelta(hours=3)
STEP = timedelta(minutes=5)


@dataclass(frozen=True)
class ReplicationRule:
    rule_id: str
    source_bucket: str
    source_region: str
    source_account_id: str
    destination_bucket: str
    destination_region: str
    rtc_minutes: int
    lagging: bool = False  # the injected fault: this rule falls behind its RTC threshold

    def latency_seconds(self, minutes_ago: float, rng: random.Random) -> float:
        healthy = 45 + 25 * math.sin(minutes_ago / 17.0) + rng.uniform(0, 20)
        if not self.lagging or minutes_ago > 70:
            return max(5.0, healthy)
        # Falls behind over the last ~70 minutes and stays well past the threshold.
        threshold = self.rtc_minutes * 60
        ramp = min(1.0, (70 - minutes_ago) / 40)
        return healthy + ramp * (threshold * 1.6) + rng.uniform(0, 120)

    def points(self, when: datetime, now: datetime, rng: random.Random) -> list[tuple[str, str, float, str]]:
        """(metric, region, value, unit) for one timestamp."""
        minutes_ago = (now - when).total_seconds() / 60
        latency = self.latency_seconds(minutes_ago, rng)
        pending_ops = max(0.0, latency / 6 + rng.uniform(0, 10))
        return [
            ("ReplicationLatency", self.destination_region, round(latency, 1), "Seconds"),
            ("OperationsPendingReplication", self.destination_region, round(pending_ops), "Count"),
            ("BytesPendingReplication", self.destination_region, round(pending_ops * 48 * 1024 * 1024), "Bytes"),
            (
                "OperationsFailedReplication",
                self.source_region,
                3.0 if self.lagging and minutes_ago < 30 else 0.0,
                "Count",
            ),
        ]


def publish(
    clients: AccountClients, rules: list[ReplicationRule], start: datetime, end: datetime, now: datetime, seed: int = 7
) -> int:
    """Put every rule's points for [start, end] at STEP intervals; returns the number of datapoints."""
    rng = random.Random(seed)
    batches: dict[tuple[str, str], list[dict[str, Any]]] = {}
    when = start
    while when <= end:
        for rule in rules:
            dimensions = [
                {"Name": "SourceBucket", "Value": rule.source_bucket},
                {"Name": "DestinationBucket", "Value": rule.destination_bucket},
                {"Name": "RuleId", "Value": rule.rule_id},
            ]
            for metric, region, value, unit in rule.points(when, now, rng):
                batches.setdefault((rule.source_account_id, region), []).append(
                    {"MetricName": metric, "Dimensions": dimensions, "Timestamp": when, "Value": value, "Unit": unit}
                )
        when += STEP
    count = 0
    for (account_id, region), data in batches.items():
        cloudwatch = clients.get(account_id, region, "cloudwatch")
        for i in range(0, len(data), 500):
            cloudwatch.put_metric_data(Namespace="AWS/S3", MetricData=data[i : i + 500])
        count += len(data)
    return count


def seed_history(clients: AccountClients, rules: list[ReplicationRule], now: datetime | None = None) -> int:
    now = now or datetime.now(timezone.utc)
    now = now.replace(second=0, microsecond=0)
    return publish(clients, rules, now - HISTORY, now, now)


class MetricFeeder:
    """Appends one point per rule every STEP while the sandbox runs (a daemon thread)."""

    def __init__(self, clients: AccountClients, rules: list[ReplicationRule]):
        self.clients = clients
        self.rules = rules
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="replication-metrics", daemon=True)

    def start(self) -> MetricFeeder:
        if self.rules:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        tick = 0
        while not self._stop.wait(STEP.total_seconds()):
            tick += 1
            now = datetime.now(timezone.utc)
            try:
                publish(self.clients, self.rules, now, now, now, seed=1000 + tick)
            except Exception:  # the emulator went away: we are shutting down
                return
