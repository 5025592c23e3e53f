"""replication_lag_sensor → check `replication_within_rtc` on the replication unit and every replica unit.

Per account/region of the replication source account (S3 publishes the metrics in the source bucket
owner's account — latency and pending counts in the destination's Region, failures in the source's):
one paginated `cloudwatch.list_metrics` (namespace AWS/S3, metrics with a RuleId dimension) and
`get_metric_data` in batches of 500 queries. Per source bucket: one `get_bucket_replication` for the
rule list. Per slice: one tagging listing to map buckets to units. Calls grow with accounts × regions
(and with pages of 500 metrics), not with buckets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import dagster as dg

from ml_clusters.estate import Estate, Unit
from ml_clusters.sensors.core import Outcome, ProbeContext, ProbeReport, Slice, md_table, skipped_reason
from ml_clusters.sensors.mapping import tagged_resources

CHECK_NAME = "replication_within_rtc"
AREA = "replication"
REPLICATION_MODULE = "s3-replication"
BUCKET_MODULE = "s3-data-bucket"

# metric name → CloudWatch statistic that answers "how bad did it get in the window"
METRICS = {
    "ReplicationLatency": "Maximum",
    "OperationsPendingReplication": "Maximum",
    "BytesPendingReplication": "Maximum",
    "OperationsFailedReplication": "Sum",
}
MAX_QUERIES_PER_CALL = 500


@dataclass(frozen=True)
class ReplicationTopology:
    """From the estate: replication units, the source bucket units they replicate from, the replicas."""

    replication_units: tuple[str, ...]
    sources_of: dict[str, tuple[str, ...]]  # replication unit → source bucket units
    replicas_of: dict[str, tuple[str, ...]]  # replication unit → replica bucket units

    @property
    def target_paths(self) -> list[str]:
        paths = list(self.replication_units)
        for replicas in self.replicas_of.values():
            paths.extend(p for p in replicas if p not in paths)
        return paths


def topology(estate: Estate) -> ReplicationTopology:
    sources_of: dict[str, tuple[str, ...]] = {}
    replicas_of: dict[str, tuple[str, ...]] = {}
    for unit in estate.units.values():
        if unit.module != REPLICATION_MODULE:
            continue
        buckets = [p for p in unit.depends_on if estate.units[p].module == BUCKET_MODULE]
        # A replica depends on the bucket it replicates from; the source depends on no other bucket here.
        replicas = tuple(p for p in buckets if any(o in estate.units[p].depends_on for o in buckets if o != p))
        sources_of[unit.path] = tuple(p for p in buckets if p not in replicas)
        replicas_of[unit.path] = replicas
    return ReplicationTopology(tuple(sorted(sources_of)), sources_of, replicas_of)


def target_units(estate: Estate) -> list[Unit]:
    return [estate.units[p] for p in topology(estate).target_paths]


@dataclass
class Rule:
    source_bucket: str
    rule_id: str
    destination_bucket: str | None = None
    status: str | None = None  # from the configuration; None when only metrics mention the rule
    values: dict[str, float] = field(default_factory=dict)  # metric name → worst value in the window

    @property
    def has_data(self) -> bool:
        return bool(self.values)


def _bucket_name(arn_or_name: str) -> str:
    return arn_or_name.split(":::", 1)[-1]


def _metric_identity(metric: dict[str, Any]) -> tuple:
    dimensions = sorted((d["Name"], d["Value"]) for d in metric.get("Dimensions", []))
    return metric.get("Namespace"), metric.get("MetricName"), tuple(dimensions)


def _list_replication_metrics(cloudwatch: Any) -> list[dict[str, Any]]:
    """Each replication metric once. CloudWatch lists a metric once; the moto emulator lists it once
    per datapoint, which would make the query batch grow with time and sum the same series N times."""
    metrics: dict[tuple, dict[str, Any]] = {}
    for page in cloudwatch.get_paginator("list_metrics").paginate(Namespace="AWS/S3", Dimensions=[{"Name": "RuleId"}]):
        for metric in page.get("Metrics", []):
            if metric.get("MetricName") in METRICS:
                metrics.setdefault(_metric_identity(metric), metric)
    return list(metrics.values())


def _metric_values(cloudwatch: Any, metrics: list[dict[str, Any]], ctx: ProbeContext) -> list[tuple[dict, float]]:
    """(metric, worst value in the window) for every metric that has datapoints."""
    window = ctx.settings.replication_window_minutes
    end = ctx.now
    start = end - timedelta(minutes=window)
    found: list[tuple[dict, float]] = []
    for offset in range(0, len(metrics), MAX_QUERIES_PER_CALL):
        batch = metrics[offset : offset + MAX_QUERIES_PER_CALL]
        queries = [
            {
                "Id": f"m{i}",
                "MetricStat": {
                    "Metric": {k: m[k] for k in ("Namespace", "MetricName", "Dimensions")},
                    "Period": window * 60,
                    "Stat": METRICS[m["MetricName"]],
                },
                "ReturnData": True,
            }
            for i, m in enumerate(batch)
        ]
        token = None
        values: dict[str, list[float]] = {}
        while True:
            kwargs: dict[str, Any] = {"MetricDataQueries": queries, "StartTime": start, "EndTime": end}
            if token:
                kwargs["NextToken"] = token
            response = cloudwatch.get_metric_data(**kwargs)
            for result in response.get("MetricDataResults", []):
                values.setdefault(result["Id"], []).extend(result.get("Values", []))
            token = response.get("NextToken")
            if not token:
                break
        for i, metric in enumerate(batch):
            points = values.get(f"m{i}") or []
            if points:
                stat = METRICS[metric["MetricName"]]
                found.append((metric, sum(points) if stat == "Sum" else max(points)))
    return found


def _rule_verdict(rule: Rule, threshold_seconds: float) -> str | None:
    """Why this rule breaks the RTC promise, or None."""
    reasons = []
    latency = rule.values.get("ReplicationLatency")
    if latency is not None and latency > threshold_seconds:
        reasons.append(f"latency {latency:.0f}s > {threshold_seconds:.0f}s")
    failed = rule.values.get("OperationsFailedReplication", 0)
    if failed > 0:
        reasons.append(f"{failed:.0f} failed operation(s)")
    return "; ".join(reasons) or None


def probe(ctx: ProbeContext, units: Sequence[Unit]) -> ProbeReport:
    report = ProbeReport(CHECK_NAME)
    estate = ctx.estate
    topo = topology(estate)
    wanted = {u.path for u in units}
    if not wanted:
        return report
    index = ctx.resource_index()

    source_units = sorted({s for r in topo.replication_units for s in topo.sources_of[r]})
    source_accounts = {estate.units[s].account.key for s in source_units if estate.units[s].account}
    metric_slices = [s for s in ctx.slices() if s.account.key in source_accounts]
    replica_units = [estate.units[p] for r in topo.replication_units for p in topo.replicas_of[r]]
    tag_slices = sorted(
        set(metric_slices) | set(ctx.slices([estate.units[p] for p in source_units] + replica_units)),
        key=lambda s: s.label,
    )

    # 1. Which bucket belongs to which unit (bucket names are global, so one map serves every slice).
    tagged = ctx.in_slices(
        tag_slices, "s3 tags", lambda s: tagged_resources(ctx.client(s, "resourcegroupstaggingapi"), ["s3"]), report.skips
    )
    bucket_unit: dict[str, str] = {}
    for tags_by_arn in tagged.values():
        index.add_tagged(tags_by_arn)
        for arn in tags_by_arn:
            path = index.unit_for(arn=arn)
            if path:
                bucket_unit[_bucket_name(arn)] = path

    rules: dict[tuple[str, str], Rule] = {}

    # 2. The configured rules of every source bucket.
    def read_configuration(slice_: Slice) -> list[Rule]:
        s3 = ctx.client(slice_, "s3")
        found = []
        owned = [b for b, p in bucket_unit.items() if p in source_units and ctx.slice_of(estate.units[p]) == slice_]
        for bucket in sorted(owned):
            try:
                config = s3.get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"]
            except s3.exceptions.ClientError as error:
                if error.response.get("Error", {}).get("Code") == "ReplicationConfigurationNotFoundError":
                    continue
                raise
            for raw in config.get("Rules", []):
                destination = raw.get("Destination", {}).get("Bucket", "")
                found.append(Rule(bucket, raw.get("ID", ""), _bucket_name(destination) or None, raw.get("Status")))
        return found

    source_slices = ctx.slices([estate.units[p] for p in source_units])
    for configured in ctx.in_slices(source_slices, "s3 replication config", read_configuration, report.skips).values():
        for rule in configured:
            rules[(rule.source_bucket, rule.rule_id)] = rule

    # 3. What CloudWatch saw in the window, in every region of the source account(s).
    def read_metrics(slice_: Slice) -> list[tuple[dict, float]]:
        cloudwatch = ctx.client(slice_, "cloudwatch")
        return _metric_values(cloudwatch, _list_replication_metrics(cloudwatch), ctx)

    for values in ctx.in_slices(metric_slices, "cloudwatch", read_metrics, report.skips).values():
        for metric, value in values:
            dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
            key = (dims.get("SourceBucket", ""), dims.get("RuleId", ""))
            rule = rules.setdefault(key, Rule(key[0], key[1], dims.get("DestinationBucket")))
            rule.destination_bucket = rule.destination_bucket or dims.get("DestinationBucket")
            name = metric["MetricName"]
            worst = max if METRICS[name] == "Maximum" else (lambda a, b: a + b)
            rule.values[name] = worst(rule.values[name], value) if name in rule.values else value

    # Buckets without the unit tag (e.g. created before the tag existed): try the recorded outputs.
    for rule in rules.values():
        for bucket in (rule.source_bucket, rule.destination_bucket):
            if bucket and bucket not in bucket_unit:
                path = index.unit_for(arn=f"arn:aws:s3:::{bucket}", identifiers=[bucket])
                if path:
                    bucket_unit[bucket] = path

    # 4. Judge each unit over its rules.
    threshold = ctx.settings.rtc_threshold_minutes * 60
    for path in topo.target_paths:
        if path not in wanted:
            continue
        unit = estate.units[path]
        if path in topo.replication_units:
            own_sources = {b for b, p in bucket_unit.items() if p in topo.sources_of[path]}
            own_rules = [r for r in rules.values() if r.source_bucket in own_sources]
            needed = metric_slices + source_slices
        else:
            own_rules = [r for r in rules.values() if r.destination_bucket and bucket_unit.get(r.destination_bucket) == path]
            needed = metric_slices + ctx.slices([unit])
        incomplete = skipped_reason(report.skips, needed)
        if incomplete:
            report.unknown[path] = incomplete
            continue
        report.outcomes[path], report.observations[path] = _judge(
            own_rules, threshold, ctx.settings.replication_window_minutes, ctx.settings.replication_silence_warns
        )
    return report


def _judge(
    rules: list[Rule], threshold: float, window: int, silence_warns: bool = True
) -> tuple[Outcome, dict[str, float | int]]:
    active = [r for r in rules if r.status != "Disabled"]
    breaking = [(r, why) for r in active if (why := _rule_verdict(r, threshold))]
    silent = [r for r in active if not r.has_data]

    def worst(name: str) -> float:
        return max((r.values.get(name, 0.0) for r in active), default=0.0)

    numbers: dict[str, float | int] = {
        "rules": len(active),
        "rules_over_rtc": len(breaking),
        "rules_without_data": len(silent),
        "max_latency_seconds": worst("ReplicationLatency"),
        "pending_operations": sum(r.values.get("OperationsPendingReplication", 0.0) for r in active),
        "pending_bytes": sum(r.values.get("BytesPendingReplication", 0.0) for r in active),
        "failed_operations": sum(r.values.get("OperationsFailedReplication", 0.0) for r in active),
    }
    table = md_table(
        ["rule", "source", "destination", "latency s", "pending ops", "pending bytes", "failed ops", "verdict"],
        [
            (
                r.rule_id,
                r.source_bucket,
                r.destination_bucket or "?",
                _fmt(r.values.get("ReplicationLatency")),
                _fmt(r.values.get("OperationsPendingReplication")),
                _fmt(r.values.get("BytesPendingReplication")),
                _fmt(r.values.get("OperationsFailedReplication")),
                _rule_verdict(r, threshold) or ("no data" if not r.has_data else "ok"),
            )
            for r in sorted(active, key=lambda r: (r.source_bucket, r.rule_id))
        ],
    )
    metadata: dict[str, Any] = {
        "rule_table": table,
        "threshold_seconds": threshold,
        "window_minutes": window,
        **numbers,
    }
    if breaking:
        rule, why = max(breaking, key=lambda item: item[0].values.get("ReplicationLatency", 0.0))
        metadata.update(rule_id=rule.rule_id, source_bucket=rule.source_bucket, destination_bucket=rule.destination_bucket or "?")
        description = f"{len(breaking)} rule(s) outside RTC; worst: {rule.rule_id} {rule.source_bucket} → {rule.destination_bucket}: {why}"
        return Outcome(False, description, metadata), numbers
    if silent and silence_warns:
        names = ", ".join(r.rule_id for r in silent[:5])
        description = (
            f"no replication metrics in the last {window} min for {len(silent)} rule(s) ({names}); "
            "S3 publishes them only for rules with Metrics/RTC enabled, from ~15 min after enabling"
        )
        return Outcome(False, description, metadata, dg.AssetCheckSeverity.WARN), numbers
    if not active:
        return Outcome(True, "no enabled replication rules found for this unit", metadata), numbers
    quiet = f"; {len(silent)} without metrics in the last {window} min (not warned: replication_silence_warns is off)" if silent else ""
    return Outcome(True, f"{len(active)} rule(s) within RTC ({threshold:.0f}s){quiet}", metadata), numbers


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"
