"""`ml-clusters plan-changed`: plan the units a git diff touches plus everything downstream (for CI)."""

from __future__ import annotations

import importlib
import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Optional

import typer

from ml_clusters.estate import EstateError, load_estate
from ml_clusters.execution.ci import PLAN_CONFIG_JSON, SelectionError, changed_files, git_toplevel, select_changed


SHOW_SELECT_UP_TO = 50  # a longer --select is not echoed: the units are listed just above


def register(app: typer.Typer) -> None:
    """Add this area's commands to the `ml-clusters` app."""
    app.command("plan-changed")(plan_changed)


def plan_changed(
    base: str = typer.Option(..., "--base", help="Git ref to diff against, e.g. origin/main (merge-base is used)."),
    head: Optional[str] = typer.Option(None, "--head", help="Git ref to compare (default: the working tree)."),
    live_dir: Optional[Path] = typer.Option(None, "--live-dir", help="Live root (default: ML_CLUSTERS_LIVE_DIR or terraform/live)."),
    module: str = typer.Option("ml_clusters.definitions", "--module", "-m", help="Dagster code location module."),
    python_file: Optional[Path] = typer.Option(None, "--python-file", "-f", help="Dagster code location file (instead of --module)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the selection and the command; don't run it."),
    allow_removed_units: bool = typer.Option(
        False,
        "--allow-removed-units",
        help="Go on when the diff deletes or moves a unit (its resources stay in AWS: destroy them first).",
    ),
) -> None:
    """Plan (never apply) the changed units and everything downstream, via `dagster asset materialize`.

    Never runs with an empty selection: Dagster materializes every asset when --select matches nothing.
    """
    try:
        estate = load_estate(live_dir)
        files = changed_files(git_toplevel(estate.root), base, head)
        selection = select_changed(estate, files)
    except (EstateError, SelectionError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None

    against = f"{base}...{head}" if head else f"{base} (merge-base) and the working tree"
    _report_unplanned(selection)
    if selection.removed_units:
        typer.echo(
            f"Removed units ({len(selection.removed_units)}): the diff deletes (or moves) their terragrunt.hcl. "
            "Nothing destroys their resources and their state stays where it was; a moved unit gets a new state key "
            "and would create its resources again. Destroy them from the base revision first "
            "(`terragrunt destroy` in the unit), then re-run with --allow-removed-units:",
            err=True,
        )
        for path in selection.removed_units:
            typer.echo(f"  {path}", err=True)
        if not allow_removed_units:
            raise typer.Exit(3)
    if not selection.units:
        typer.echo(
            f"No Terragrunt unit is affected by the changes between {against}: nothing to plan. "
            "(Not calling `dagster asset materialize`: an empty selection would materialize every asset.)"
        )
        return
    typer.echo(f"Changed units ({len(selection.changed)}) between {against}:")
    for path, why in selection.changed.items():
        typer.echo(f"  {path}  ({why})")
    if selection.downstream:
        typer.echo(f"Downstream of them ({len(selection.downstream)}):")
        for path in selection.downstream:
            typer.echo(f"  {path}")

    from ml_clusters.translator import TerragruntTranslator  # Dagster import only when there's work

    translator = TerragruntTranslator()
    key_for = lambda path: translator.get_asset_key(estate.units[path]).to_user_string()  # noqa: E731
    try:
        select = selection.dagster_select(key_for)
    except SelectionError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    location = ["-f", str(python_file)] if python_file else ["-m", module]
    args = ["asset", "materialize", *location, "--select", select, "--config-json", PLAN_CONFIG_JSON]
    env = {**os.environ, "ML_CLUSTERS_LIVE_DIR": str(estate.root)}
    shown = args if len(selection.units) <= SHOW_SELECT_UP_TO else [
        a if a != select else f"<the {len(selection.units)} unit keys above>" for a in args
    ]
    typer.echo("Running: " + shlex.join(["dagster", *shown]))
    if dry_run:
        return

    try:
        missing = _keys_missing_from_location(python_file, module, [key_for(p) for p in selection.units], env)
    except Exception as exc:  # noqa: BLE001 - any failure to load the user's code location: one line
        where = f"--python-file {python_file}" if python_file else f"--module {module}"
        typer.echo(f"error: cannot load the code location ({where}): {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(2) from None
    if missing:
        typer.echo(
            f"error: asset keys not in the code location ({', '.join(missing[:5])}): refusing to run, "
            "an unmatched selection would materialize every asset",
            err=True,
        )
        raise typer.Exit(2)
    done = subprocess.run([_dagster_executable(), *args], env=env)
    raise typer.Exit(done.returncode)


def _report_unplanned(selection) -> None:
    """Changed files under terraform/ that this command will not plan, said out loud."""
    if selection.gitops_files:
        typer.echo(
            f"Not planned by Terraform ({len(selection.gitops_files)}): GitOps manifests, synced to the clusters "
            "by Argo CD after merge (review them in the diff):"
        )
        for name in selection.gitops_files:
            typer.echo(f"  {name}")
    if selection.ignored_files:
        typer.echo(f"Ignored ({len(selection.ignored_files)}): changed, but no unit reads them:")
        for name in selection.ignored_files:
            typer.echo(f"  {name}")


def _keys_missing_from_location(python_file: Optional[Path], module: str, keys: list[str], env: dict) -> list[str]:
    """Keys of the selection that the code location does not define (e.g. a custom translator)."""
    import dagster as dg

    # The location reads its live root from the environment, as `dagster asset materialize` will;
    # restored afterwards so the caller's process (a test runner, say) keeps its own.
    previous = os.environ.get("ML_CLUSTERS_LIVE_DIR")
    os.environ["ML_CLUSTERS_LIVE_DIR"] = env["ML_CLUSTERS_LIVE_DIR"]
    try:
        if python_file:
            spec = importlib.util.spec_from_file_location("_ml_clusters_location", python_file)
            loaded = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(loaded)  # type: ignore[union-attr]
        else:
            loaded = importlib.import_module(module)
    finally:
        if previous is None:
            os.environ.pop("ML_CLUSTERS_LIVE_DIR", None)
        else:
            os.environ["ML_CLUSTERS_LIVE_DIR"] = previous
    defined: set[str] = set()
    for value in vars(loaded).values():
        if isinstance(value, dg.Definitions):
            defined |= {k.to_user_string() for k in value.resolve_all_asset_keys()}
    return [k for k in keys if k not in defined]


def _dagster_executable() -> str:
    beside = Path(sys.executable).parent / "dagster"
    if beside.exists():
        return str(beside)
    found = shutil.which("dagster")
    if not found:
        raise typer.BadParameter("the `dagster` command is not installed in this environment")
    return found
