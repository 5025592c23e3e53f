"""Capacity in Dagster: the `extend_capacity_block` job.

Launch it from the UI (config below) or let the capacity-expiry sensor request it through
`ml_clusters.capacity.auto_extend.plan_auto_extension`. It extends one Capacity Block by `hours`, refuses
any extension whose upfront fee is above `max_price`, and records the extension as an observation on the
cluster assets that use the block: `cluster`, else the clusters using the unit named by the block's
`ml-clusters:unit` tag (the tag may name the capacity-block unit itself).
"""


from decimal import Decimal
from typing import Any, Optional

import dagster as dg
from botocore.client import BaseClient
from pydantic import Field

from ml_clusters.capacity import aws, blocks
from ml_clusters.capacity.accounts import resolve_account, target_for
from ml_clusters.capacity.auto_extend import EXTEND_JOB_NAME, EXTEND_OP_NAME
from ml_clusters.capacity.errors import CapacityError
from ml_clusters.capacity.fit import extension_record_units
from ml_clusters.capacity.guard import check_price
from ml_clusters.capacity.records import observation
from ml_clusters.capacity.tags import UNIT as TAG_UNIT
from ml_clusters.estate.model import Estate

RESOURCE_KEY = "capacity_aws"
NO_RUN_RETRIES = {"dagster/max_retries": "0", "dagster/retry_on_asset_or_op_failure": "false"}


class CapacityAws(dg.ConfigurableResource):
    """boto3 clients for capacity work in an estate account (assume-role; see ml_clusters.capacity.aws)."""

    role: Optional[str] = Field(None, description="role name or ARN template ({account_id}) to assume; default: "
                                               "account.hcl `capacity_role`, ML_CLUSTERS_CAPACITY_ROLE, "
                                               "TerraformExecutionRole")

    def client(self, service: str, target: aws.Target, *, purpose: aws.Purpose = "read") -> BaseClient:
        return aws.client(service, self._target(target), purpose=purpose)

    def verify_account(self, target: aws.Target) -> None:
        """Refuse unless the session that will buy belongs to `target`'s account (see aws.verify_account)."""
        aws.verify_account(self._target(target), action=EXTEND_JOB_NAME)

    def _target(self, target: aws.Target) -> aws.Target:
        if self.role:
            return aws.Target(region=target.region, account_id=target.account_id,
                              account_label=target.account_label, role=self.role)
        return target


class ExtendCapacityBlockConfig(dg.Config):
    reservation_id: str = Field(description="Capacity Reservation id of the block (cr-...)")
    hours: int = Field(ge=1, description="hours to add")
    max_price: float = Field(gt=0, allow_inf_nan=False, description="refuse an extension whose upfront fee is above this")
    account: str = Field(description="estate account: name, key or id (main, main-account, 483026362307)")
    region: str
    cluster: Optional[str] = Field(None, description="unit path of the cluster using the block (for the record)")
    dry_run: bool = Field(False, description="only ask EC2 whether the purchase would be accepted")


def build_capacity_defs(estate: Estate, translator: Any) -> dg.Definitions:
    """The capacity job, bound to this estate (accounts, cluster units) and translator (asset keys)."""

    @dg.op(name=EXTEND_OP_NAME, tags={"kind": "ec2"},
           description="Extend a Capacity Block by the configured hours, within the price cap.")
    def extend_capacity_block_op(context: dg.OpExecutionContext, config: ExtendCapacityBlockConfig,
                                 capacity_aws: CapacityAws) -> dict:
        try:
            return _extend(context, config, capacity_aws, estate, translator)
        except CapacityError as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None

    # A failed run is never re-run by Dagster's run retries: a run that failed after (or while) buying would
    # look the extension offering up again for the new end date and buy a second extension.
    @dg.job(name=EXTEND_JOB_NAME, tags={"ml-clusters/area": "capacity", **NO_RUN_RETRIES},
            description="Extend an EC2 Capacity Block (price-capped); requested by the capacity-expiry sensor "
                        "when auto-extension is on for a reservation.")
    def extend_capacity_block():
        extend_capacity_block_op()

    return dg.Definitions(jobs=[extend_capacity_block], resources={RESOURCE_KEY: CapacityAws()})


def _extend(context: dg.OpExecutionContext, config: ExtendCapacityBlockConfig, capacity_aws: CapacityAws,
            estate: Estate, translator: Any) -> dict:
    account = resolve_account(estate, config.account)
    target = target_for(account, config.region)
    ec2 = capacity_aws.client("ec2", target)
    reservation = blocks.get_reservation(ec2, config.reservation_id, region=config.region)
    blocks.check_owner(reservation, account.id, account.key)
    offerings = blocks.extension_offerings(ec2, config.reservation_id, config.hours, region=config.region)
    offering = blocks.choose_extension(offerings, config.reservation_id, config.hours)
    max_price = Decimal(str(config.max_price))
    check_price(offering.upfront_fee, offering.currency, max_price, cap_name="max_price")
    context.log.info(f"extending {config.reservation_id} ({reservation.total_instances} x {reservation.instance_type} "
                     f"in {reservation.availability_zone}) by {config.hours} h for {offering.upfront_fee} "
                     f"{offering.currency} (cap {max_price}), until {offering.end}")
    capacity_aws.verify_account(target)
    ec2_buy = capacity_aws.client("ec2", target, purpose="buy")
    extension = blocks.purchase_extension(ec2_buy, offering, dry_run=config.dry_run, region=config.region)
    if extension is None:
        context.log.info("dry run: EC2 would accept the extension; nothing bought")
        return {"dry_run": True, "offering": offering.to_json()}

    # The block's ml-clusters:unit tag may name the capacity-block unit itself; the record belongs on the
    # cluster(s) using it (and stays on the block's unit too, where its own history is).
    owner = config.cluster or reservation.tags.get(TAG_UNIT)
    clusters, record_on = extension_record_units(estate, owner)
    if not clusters:
        context.log.warning(f"extension of {config.reservation_id} not recorded on a cluster asset: "
                            + (f"{owner!r} is neither a cluster of the estate nor a unit clusters depend on"
                               if owner else f"no `cluster` in the config and no {TAG_UNIT} tag on the reservation"))
    for path in record_on:
        context.log_event(observation(
            asset_key=translator.get_asset_key(estate.units[path]), event="capacity block extended",
            capacity_id=config.reservation_id, fee=extension.upfront_fee or offering.upfront_fee,
            currency=extension.currency or offering.currency, account_label=account.key, region=config.region,
            via=f"dagster job {EXTEND_JOB_NAME} (run {context.run_id[:8]})",
            details={"hours": config.hours, "new_end": extension.end or offering.end,
                     "status": extension.status, "offering_id": offering.offering_id,
                     "availability_zone": offering.availability_zone, "instance_type": offering.instance_type,
                     "instances": offering.instance_count}))
    return {"extension": extension.to_json(), "offering": offering.to_json(), "clusters": clusters,
            "recorded_on": record_on}
