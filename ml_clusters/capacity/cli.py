"""`ml-clusters capacity-blocks ...` and `ml-clusters training-plans ...`.

Search, buy (with the upfront price shown and a typed confirmation), list, extend, and check which
clusters of the estate can use the capacity's Availability Zone. Every failure is one line on stderr
and a non-zero exit; nothing is bought when anything is unclear.
"""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add `capacity-blocks` and `training-plans` to the `ml-clusters` app."""
    from ml_clusters.capacity.cli_blocks import blocks_app
    from ml_clusters.capacity.cli_plans import plans_app

    app.add_typer(blocks_app, name="capacity-blocks")
    app.add_typer(plans_app, name="training-plans")
