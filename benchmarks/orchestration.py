"""How close does the executor get to the critical path of the real estate's graph?

Runs every unit of terraform/live through the real `terragrunt_units` multi-asset (dg.materialize,
in-process, on a temporary Dagster instance) with the terragrunt test double spending a fixed time
in each plan and each apply, then prints side by side three bounds and our wall time:

  critical path, nominal    longest dependency chain of the fixed sleeps alone (depth x sleeps):
                            the ideal with free process start-up. The strictest bound.
  critical path, solo       the same chain weighted by sleeps + each unit's overhead measured alone
                            (its terragrunt commands with no sleep, one unit at a time, nothing else
                            running): what a perfect scheduler would reach on an idle machine.
  critical path, measured   the chain weighted by each unit's own time in this run (its terragrunt
                            processes, start-up under this run's load included), as the executor
                            timed them. What a perfect scheduler could not beat on this machine now.
  serial sum                every unit's own time in this run, one after another
  our wall time             the `terragrunt_units` step, start to end (Dagster's own event times),
                            which includes recording every log line and event in Dagster

Target: wall <= 1.10 x the critical path, with parallelism >= the graph's width. The verdict is
printed against each bound, so it is clear which bound the target is met against.

    .venv/bin/python benchmarks/orchestration.py [--sleep 1.0] [--parallelism N] [--mode apply|plan] [--no-solo]
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
    parser.add_argument("--no-solo", action="store_true", help="skip measuring each unit's overhead alone")
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

        solo = None if args.no_solo else solo_overheads(estate, Path(tmp), args.mode)

    sleeps_per_unit = args.sleep * (2 if args.mode == "apply" else 1)
    bounds = {"nominal": longest_path(estate, {p: sleeps_per_unit for p in estate.units})}
    if solo is not None:
        bounds["solo"] = longest_path(estate, {p: sleeps_per_unit + solo[p] for p in estate.units})
    bounds["measured"] = longest_path(estate, unit_seconds)
    serial = sum(unit_seconds.values())

    print(f"estate: {len(estate.units)} units, {len(estate.edges)} edges, {estate.root}")
    print(f"mode {args.mode}: {len(calls) / len(estate.units):.0f} terragrunt commands and {sleeps_per_unit:g}s of sleep per unit")
    print(f"graph width (widest level) {level_width(estate)}, parallelism {parallelism}, Dagster storage {args.storage}")
    if solo is not None:
        print(f"overhead per unit measured alone (no sleep, nothing else running): median {sorted(solo.values())[len(solo) // 2]:.2f}s, max {max(solo.values()):.2f}s")
    print()
    print(f"{'':<34}{'seconds':>8}   {'wall / it':>9}   target 1.10")
    rows = [
        ("critical path, nominal (sleeps)", bounds["nominal"]),
        ("critical path, solo (+overhead)", bounds.get("solo")),
        ("critical path, measured (this run)", bounds["measured"]),
    ]
    for name, seconds in rows:
        if seconds is not None:
            ratio = step_wall / seconds
            print(f"{name:<34}{seconds:8.2f}   {ratio:9.3f}   {'met' if ratio <= 1.10 else 'MISSED'}")
    print(f"{'serial sum (this run)':<34}{serial:8.2f}   {step_wall / serial:9.3f}   ({serial / step_wall:.1f}x faster than serial)")
    print(f"{'first..last terragrunt':<34}{terragrunt_span:8.2f}   {'':>9}   (scheduling: {terragrunt_span / bounds['measured']:.3f} x measured)")
    print(f"{'our wall time (the step)':<34}{step_wall:8.2f}")
    print(f"{'whole run incl. Dagster':<34}{run_wall:8.2f}   ({len(logs)} events recorded)")
    met = [name for name, bound in bounds.items() if step_wall <= 1.10 * bound]
    print(f"\ntarget wall <= 1.10 x critical path: met against {', '.join(met) or 'no bound'}"
          + (f"; missed against {', '.join(b for b in bounds if b not in met)}" if len(met) < len(bounds) else ""))


def solo_overheads(estate, tmp: Path, mode: str) -> dict[str, float]:
    """Each unit's terragrunt commands with no sleep, one unit at a time: the per-unit overhead alone."""
    double = TerragruntDouble.create(tmp / "solo")
    double.script({}, defaults={"sleep": 0, "changes": [CHANGE]})
    cli = TerragruntCli(binary=str(double.binary), extra_env={k: v for k, v in double.env().items() if k.startswith("TG_DOUBLE_")})
    seconds: dict[str, float] = {}
    for path in estate.topological_order:
        unit_dir, plan_file = estate.units[path].dir, tmp / "solo" / (path.replace("/", "__") + ".tfplan")
        started = time.monotonic()
        cli.plan(unit_dir, plan_file)
        cli.show_plan(unit_dir, plan_file)
        if mode == "apply":
            cli.apply(unit_dir, plan_file)
            cli.outputs(unit_dir)
        seconds[path] = time.monotonic() - started
    return seconds


if __name__ == "__main__":
    main()
