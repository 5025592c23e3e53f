"""GPU capacity: EC2 Capacity Blocks and SageMaker Training Plans.

    cli.py          `ml-clusters capacity-blocks ...` / `ml-clusters training-plans ...`
    defs.py         build_capacity_defs(estate, translator): the `extend_capacity_block` job
    auto_extend.py  plan_auto_extension(reservation) → RunRequest | None, for the capacity-expiry sensor
    blocks.py, plans.py   the AWS calls; fit.py the AZ fit against the estate; guard.py the purchase rules

Kept import-light (the CLI loads on every `ml-clusters` call): `build_capacity_defs` is imported on use.
"""


def __getattr__(name: str):
    if name == "build_capacity_defs":
        from ml_clusters.capacity.defs import build_capacity_defs

        return build_capacity_defs
    raise AttributeError(name)
