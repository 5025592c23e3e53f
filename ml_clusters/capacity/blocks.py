"""EC2 Capacity Blocks: search offerings, buy one, list reservations, extend one.

Functions take an EC2 client (so tests hand in a Stubber-wrapped one) and return `models` records.
They never ask anything and never print: deciding whether to buy is `guard`'s job, talking is the CLI's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

from botocore.client import BaseClient
from botocore.exceptions import ClientError

from ml_clusters.capacity.aws import has_operation, pages, require_operation
from ml_clusters.capacity.errors import AWS_ERRORS, CapacityError, error_code, explain
from ml_clusters.capacity.models import BlockOffering, Extension, ExtensionOffering, Query, Reservation

INSTANCE_PLATFORM = "Linux/UNIX"
LISTED_STATES = ("payment-pending", "scheduled", "active")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class BlockQuery(Query):
    """What `capacity-blocks search` asked for; remembered so `purchase` can re-check the offering."""

    instance_type: str
    instance_count: int
    duration_hours: int
    start_from: datetime | None = None
    end_by: datetime | None = None

    def api_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "InstanceType": self.instance_type,
            "InstanceCount": self.instance_count,
            "CapacityDurationHours": self.duration_hours,
        }
        if self.start_from:
            params["StartDateRange"] = self.start_from
        if self.end_by:
            params["EndDateRange"] = self.end_by
        return params

    def describe(self) -> str:
        window = ""
        if self.start_from or self.end_by:
            window = f" between {_day(self.start_from) or 'now'} and {_day(self.end_by) or 'any time'}"
        return f"{self.instance_count} x {self.instance_type} for {self.duration_hours} h{window}"


def _day(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else None


def search_offerings(ec2: BaseClient, query: BlockQuery, *, region: str | None = None) -> list[BlockOffering]:
    require_operation(ec2, "describe_capacity_block_offerings")
    try:
        found = [BlockOffering.from_api(o) for o in pages(
            ec2.describe_capacity_block_offerings, "CapacityBlockOfferings", **query.api_params())]
    except AWS_ERRORS as exc:
        raise explain(exc, action="describe_capacity_block_offerings", region=region) from None
    return sorted(found, key=lambda o: (o.start is None, o.start or _EPOCH, o.offering_id))


def find_offering(ec2: BaseClient, query: BlockQuery, offering_id: str, *, region: str | None = None) -> BlockOffering:
    """Look the offering up again right before buying: offerings expire, and prices move."""
    for offering in search_offerings(ec2, query, region=region):
        if offering.offering_id == offering_id:
            return offering
    raise CapacityError(f"offering {offering_id} is no longer offered for {query.describe()} (it expired or was "
                        "taken since the search); nothing bought — run search again")


def purchase(ec2: BaseClient, offering: BlockOffering, *, tags: Mapping[str, str], dry_run: bool = False,
             region: str | None = None) -> Reservation | None:
    """Buy `offering`. With dry_run, EC2 only checks the request and permissions (returns None)."""
    require_operation(ec2, "purchase_capacity_block")
    params: dict[str, Any] = {
        "CapacityBlockOfferingId": offering.offering_id,
        "InstancePlatform": INSTANCE_PLATFORM,
    }
    if tags:
        params["TagSpecifications"] = [{
            "ResourceType": "capacity-reservation",
            "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
        }]
    if dry_run:
        params["DryRun"] = True
    try:
        response = ec2.purchase_capacity_block(**params)
    except ClientError as exc:
        if dry_run and error_code(exc) == "DryRunOperation":
            return None
        raise explain(exc, action="purchase_capacity_block", region=region, offering_id=offering.offering_id,
                      buying=not dry_run) from None
    except Exception as exc:  # noqa: BLE001 — a lost answer must not look like "nothing bought"
        raise explain(exc, action="purchase_capacity_block", region=region, buying=not dry_run) from None
    if dry_run:
        raise CapacityError("purchase_capacity_block: DryRun was set but EC2 answered as if it bought the block; "
                            "check `capacity-blocks list`")
    reservation = response.get("CapacityReservation")
    if not reservation:
        raise CapacityError("purchase_capacity_block returned no Capacity Reservation; check `capacity-blocks list`")
    block_ids = [b.get("CapacityBlockId") for b in response.get("CapacityBlocks", ()) if b.get("CapacityBlockId")]
    result = Reservation.from_api(reservation)
    if result.capacity_block_id is None and block_ids:
        result = Reservation(**{**result.__dict__, "capacity_block_id": block_ids[0]})
    return result


def list_reservations(ec2: BaseClient, *, states: tuple[str, ...] = LISTED_STATES,
                      region: str | None = None) -> list[Reservation]:
    """Capacity Blocks in `states`, with their Capacity Block id when this botocore can ask for it."""
    try:
        found = [Reservation.from_api(r) for r in pages(
            ec2.describe_capacity_reservations, "CapacityReservations",
            Filters=[{"Name": "state", "Values": list(states)}])]
    except AWS_ERRORS as exc:
        raise explain(exc, action="describe_capacity_reservations", region=region) from None
    blocks = [r for r in found if r.reservation_type == "capacity-block" or r.capacity_block_id]
    block_ids = _capacity_block_ids(ec2, states)
    if block_ids:
        blocks = [r if r.capacity_block_id else Reservation(**{**r.__dict__,
                                                               "capacity_block_id": block_ids.get(r.reservation_id)})
                  for r in blocks]
    return sorted(blocks, key=lambda r: (r.start is None, r.start or _EPOCH, r.reservation_id))


def _capacity_block_ids(ec2: BaseClient, states: tuple[str, ...]) -> dict[str, str]:
    """Reservation id → Capacity Block id; {} when describe_capacity_blocks is unknown here or unsupported."""
    if not has_operation(ec2, "describe_capacity_blocks"):
        return {}
    try:
        blocks = list(pages(ec2.describe_capacity_blocks, "CapacityBlocks",
                             Filters=[{"Name": "state", "Values": list(states)}]))
    except AWS_ERRORS:
        # An older Region/partition without the API: the reservation listing already has what we show.
        return {}
    return {rid: b["CapacityBlockId"] for b in blocks for rid in b.get("CapacityReservationIds", ())
            if b.get("CapacityBlockId")}


def get_reservation(ec2: BaseClient, reservation_id: str, *, region: str | None = None) -> Reservation:
    try:
        found = ec2.describe_capacity_reservations(CapacityReservationIds=[reservation_id]).get(
            "CapacityReservations", [])
    except ClientError as exc:
        if error_code(exc).startswith("InvalidCapacityReservationId"):
            raise CapacityError(f"no Capacity Reservation {reservation_id} in {region or 'this Region'} "
                                f"({error_code(exc)})") from None
        raise explain(exc, action="describe_capacity_reservations", region=region) from None
    except AWS_ERRORS as exc:
        raise explain(exc, action="describe_capacity_reservations", region=region) from None
    if not found:
        raise CapacityError(f"no Capacity Reservation {reservation_id} in {region or 'this Region'}")
    reservation = Reservation.from_api(found[0])
    if reservation.reservation_type not in (None, "capacity-block"):
        raise CapacityError(f"{reservation_id} is a {reservation.reservation_type} Capacity Reservation, "
                            "not a Capacity Block; only Capacity Blocks can be extended")
    return reservation


def check_owner(reservation: Reservation, account_id: str | None, account_label: str | None = None) -> None:
    """Refuse to extend a block that another account owns (e.g. one shared into `account_id`): the extension
    would be paid for on behalf of capacity this account does not own."""
    if account_id and reservation.owner_id and reservation.owner_id != account_id:
        raise CapacityError(f"{reservation.reservation_id} belongs to account {reservation.owner_id}, not "
                            f"{account_label or account_id} ({account_id}); extend it in its owner's account; "
                            "nothing bought")


def extension_offerings(ec2: BaseClient, reservation_id: str, hours: int, *,
                        region: str | None = None) -> list[ExtensionOffering]:
    require_operation(ec2, "describe_capacity_block_extension_offerings")
    try:
        found = list(pages(ec2.describe_capacity_block_extension_offerings, "CapacityBlockExtensionOfferings",
                            CapacityBlockExtensionDurationHours=hours, CapacityReservationId=reservation_id))
    except AWS_ERRORS as exc:
        raise explain(exc, action="describe_capacity_block_extension_offerings", region=region) from None
    return [ExtensionOffering.from_api(o, reservation_id) for o in found]


def choose_extension(offerings: list[ExtensionOffering], reservation_id: str, hours: int,
                     offering_id: str | None = None) -> ExtensionOffering:
    """The single extension offering to buy; anything ambiguous is refused rather than guessed."""
    if offering_id:
        for offering in offerings:
            if offering.offering_id == offering_id:
                return offering
        raise CapacityError(f"extension offering {offering_id} is not offered for {reservation_id} (+{hours} h) "
                            "any more; nothing bought — run extend again without --offering-id to see the current one")
    if not offerings:
        raise CapacityError(f"no extension offering for {reservation_id} (+{hours} h): AWS has no capacity to extend "
                            "it by that much right now; nothing bought")
    if len(offerings) > 1:
        ids = ", ".join(o.offering_id for o in offerings)
        raise CapacityError(f"{len(offerings)} extension offerings for {reservation_id} (+{hours} h): {ids}; "
                            "pick one with --offering-id; nothing bought")
    return offerings[0]


def purchase_extension(ec2: BaseClient, offering: ExtensionOffering, *, dry_run: bool = False,
                       region: str | None = None) -> Extension | None:
    require_operation(ec2, "purchase_capacity_block_extension")
    params: dict[str, Any] = {
        "CapacityBlockExtensionOfferingId": offering.offering_id,
        "CapacityReservationId": offering.reservation_id,
    }
    if dry_run:
        params["DryRun"] = True
    try:
        response = ec2.purchase_capacity_block_extension(**params)
    except ClientError as exc:
        if dry_run and error_code(exc) == "DryRunOperation":
            return None
        raise explain(exc, action="purchase_capacity_block_extension", region=region,
                      offering_id=offering.offering_id, buying=not dry_run) from None
    except Exception as exc:  # noqa: BLE001
        raise explain(exc, action="purchase_capacity_block_extension", region=region, buying=not dry_run) from None
    if dry_run:
        raise CapacityError("purchase_capacity_block_extension: DryRun was set but EC2 answered as if it bought "
                            "the extension; check `capacity-blocks list`")
    extensions = response.get("CapacityBlockExtensions") or []
    if not extensions:
        raise CapacityError("purchase_capacity_block_extension returned nothing; check `capacity-blocks list`")
    return Extension.from_api(extensions[0])
