"""`ml-clusters units`: the estate as a table or as machine-readable JSON (the DAG, per unit)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from ml_clusters.estate import EstateError, load_estate


def register(app: typer.Typer) -> None:
    app.command("units")(units)


def units(
    live_dir: Optional[Path] = typer.Option(None, "--live-dir", help="Live root (default: ML_CLUSTERS_LIVE_DIR or terraform/live)."),
    output: str = typer.Option("table", "--output", "-o", help="table | json"),
) -> None:
    """List every unit with its account, region, module and dependencies, in dependency order."""
    try:
        estate = load_estate(live_dir)
    except EstateError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    rows = [estate.units[p] for p in estate.topological_order]
    if output == "json":
        json.dump(
            {
                "root": str(estate.root),
                "stacks": list(estate.stacks),
                "units": [
                    {
                        "path": u.path,
                        "account": u.account.name if u.account else None,
                        "account_id": u.account.id if u.account else None,
                        "region": u.region,
                        "module": u.module,
                        "source": u.source if u.source is None or isinstance(u.source, str) else str(u.source),
                        "dependencies": list(u.depends_on),
                        "code_version": u.content_hash,
                    }
                    for u in rows
                ],
            },
            sys.stdout,
            indent=2,
        )
        sys.stdout.write("\n")
        return
    if output != "table":
        typer.echo(f"error: --output must be table or json, not {output!r}", err=True)
        raise typer.Exit(2)
    table = Table(title=f"{len(rows)} units under {estate.root}")
    for column in ("unit", "account", "region", "module", "depends on"):
        table.add_column(column, overflow="fold")
    for u in rows:
        table.add_row(u.path, u.account.name if u.account else "", u.region or "", u.module or ("(unresolved)" if u.source is not None and not isinstance(u.source, str) else ""), "\n".join(u.depends_on))
    Console(width=max(Console().width, 160)).print(table)
    if estate.stacks:
        typer.echo(f"stacks (terragrunt.stack.hcl, not expanded statically): {', '.join(estate.stacks)}")
