"""How close does the executor get to the critical path of the real estate's graph?

Runs every unit of terraform/live through the real `terragrunt_units` multi-asset (dg.materialize,
in-process, on a temporary Dagster instance) with the terragrunt test double spending a fixed time
in each plan and each apply, then prints side by side:

  critical path (nominal)   depth of the graph x the double's sleeps per unit
  critical path (measured)  longest dependency chain weighted by each unit's own time: its four
                            terragrunt processes (sleeps + process start-up), as the executor timed
                            them. What a perfect scheduler could not beat; the target's bound.
  serial sum                every unit's own time, one after another
  our wall time             the `terragrunt_units` step, start to end (Dagster's own event times),
                            which includes recording every log line and event in Dagster

Target: wall <= 1.10 x the critical path, with parallelism >= the graph's width.

    .venv/bin/python benchmarks/orchestration.py [--sleep 1.0] [--parallelism N] [--mode apply|plan]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import dagster as dg  # noqa: E402

from ml_clusters.assets.terragrunt_units import build_unit_defs  # noqa: E402
from ml_clusters.estate import default_live_dir, load_estate  # noqa: E402
from ml_clusters.resources.terragrunt import TerragruntCli  # noqa: E402
from ml_clusters.translator import TerragruntTranslator  # noqa: E402
from tests.execution.double import TerragruntDouble  # noqa: E402

CHANGE = {"address": "null_resource.benchmark", "type": "null_resource", "actions": ["create"]}


def longest_path(estate, weight) -> float:
    finish: dict[str, float] = {}
    for path in estate.topological_order:
        finish[path] = weight[path] + max((finish[d] for d in estate.units[path].depends_on), default=0.0)
    return max(finish.values())


def level_width(estate) -> int:
    level: dict[str, int] = {}
    for path in estate.topological_order:
        level[path] = 1 + max((level[d] for d in estate.units[path].depends_on), default=0)
    return max(list(level.values()).count(n) for n in set(level.values()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sleep", type=float, default=1.0, help="seconds the double spends in each plan and apply")
    parser.add_argument("--parallelism", type=int, default=None, help="default: the number of units (>= any width)")
    parser.add_argument("--mode", choices=["apply", "plan"], default="apply")
    parser.add_argument(
        "--storage", choices=["sqlite", "memory"], default="sqlite",
        help="Dagster event storage: sqlite (the local default, one fsync'd write per event) or in-memory",
    )  # fmt: skip
    args = parser.parse_args()

    estate = load_estate(default_live_dir())
    parallelism = args.parallelism or len(estate.units)
    with tempfile.TemporaryDirectory(prefix="ml-clusters-bench-") as tmp, contextlib.ExitStack() as stack:
        double = TerragruntDouble.create(Path(tmp))
        double.script({}, defaults={"sleep": args.sleep, "changes": [CHANGE]})
        os.environ.update(double.env())
        os.environ["ML_CLUSTERS_PLAN_DIR"] = str(Path(tmp) / "plans")
        (assets,) = build_unit_defs(estate, TerragruntTranslator()).assets
        if args.storage == "sqlite":
            (Path(tmp) / "dagster").mkdir()
            instance = stack.enter_context(dg.instance_for_test(temp_dir=str(Path(tmp) / "dagster")))
        else:
            instance = stack.enter_context(dg.DagsterInstance.ephemeral())
        started = time.monotonic()
        result = dg.materialize(
            [assets],
            resources={"terragrunt": TerragruntCli()},
            instance=instance,
            run_config={"ops": {"terragrunt_units": {"config": {"mode": args.mode, "parallelism": parallelism}}}},
            raise_on_error=False,
        )
        run_wall = time.monotonic() - started
        if not result.success:
            sys.exit("benchmark run failed: " + str(result.get_step_failure_events()[0].step_failure_data.error.message))
        logs = instance.all_logs(result.run_id)
        step = {e.dagster_event_type: e for e in logs if e.is_dagster_event}
        step_wall = step[dg.DagsterEventType.STEP_SUCCESS].timestamp - step[dg.DagsterEventType.STEP_START].timestamp
        unit_seconds = {}
        for entry in logs:
            event = entry.asset_materialization or entry.asset_observation  # apply | plan
            if event is not None:
                unit_seconds["/".join(event.asset_key.path)] = event.metadata["seconds"].value
        calls = double.calls()
        terragrunt_span = max(c["time"] for c in calls) - min(c["start"] for c in calls)

    sleeps_per_unit = args.sleep * (2 if args.mode == "apply" else 1)
    nominal = longest_path(estate, {p: sleeps_per_unit for p in estate.units})
    critical = longest_path(estate, unit_seconds)
    serial = sum(unit_seconds.values())

    print(f"estate: {len(estate.units)} units, {len(estate.edges)} edges, {estate.root}")
    print(f"mode {args.mode}: {len(calls) / len(estate.units):.0f} terragrunt commands and {sleeps_per_unit:g}s of sleep per unit")
    print(f"graph width (widest level) {level_width(estate)}, parallelism {parallelism}, Dagster storage {args.storage}")
    print()
    rows = [
        ("critical path, nominal", nominal, ""),
        ("critical path, measured", critical, "<- the bound"),
        ("serial sum, measured", serial, f"= {serial / critical:.1f} x the bound"),
        ("first..last terragrunt", terragrunt_span, f"= {terragrunt_span / critical:.3f} x the bound (scheduling)"),
        ("our wall time (the step)", step_wall, f"= {step_wall / critical:.3f} x the bound, {serial / step_wall:.1f}x faster than serial"),
        ("whole run incl. Dagster", run_wall, f"({len(logs)} events recorded)"),
    ]
    for name, seconds, note in rows:
        print(f"{name:<27}{seconds:8.2f} s   {note}")
    verdict = "PASS" if step_wall <= 1.10 * critical else "MISS"
    print(f"\ntarget: our wall time <= 1.10 x critical path: {verdict}")


if __name__ == "__main__":
    main()
