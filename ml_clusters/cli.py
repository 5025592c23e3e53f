"""The `ml-clusters` command line. Each area registers its own sub-commands."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="ml-clusters",
    help="Run a multi-account AWS ML-cluster estate (a Terragrunt monorepo) as a Dagster asset graph.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def main() -> None:
    """ml-clusters: the estate, its execution plane, capacity and the sandbox."""


def _register() -> None:
    # Imported here so `ml-clusters --help` stays fast and one area's import error names that area.
    from ml_clusters.capacity import cli as capacity_cli
    from ml_clusters.estate import cli as estate_cli
    from ml_clusters.execution import cli as execution_cli
    from ml_clusters.sandbox import cli as sandbox_cli

    for module in (estate_cli, execution_cli, capacity_cli, sandbox_cli):
        module.register(app)


_register()
