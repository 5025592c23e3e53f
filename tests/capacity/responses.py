"""Realistic AWS responses for the capacity APIs (the Stubber validates each against the service model).

All times are relative to NOW, the fixed clock the tests run with.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
MAIN_ID = "483026362307"
SECONDARY_ID = "159553542841"


def at(days: float = 0, hours: float = 0) -> datetime:
    return NOW + timedelta(days=days, hours=hours)


def midday(days: int) -> datetime:
    """Capacity Blocks start at 11:30 UTC."""
    return (NOW + timedelta(days=days)).replace(hour=11, minute=30)


# ------------------------------------------------------------------------------------------------- EC2


def block_offering(offering_id: str, az: str, *, start_day: int, hours: int = 168, count: int = 8,
                   instance_type: str = "p5.48xlarge", fee: str = "42287.62") -> dict[str, Any]:
    start = midday(start_day)
    return {
        "CapacityBlockOfferingId": offering_id,
        "InstanceType": instance_type,
        "AvailabilityZone": az,
        "InstanceCount": count,
        "StartDate": start,
        "EndDate": start + timedelta(hours=hours),
        "CapacityBlockDurationHours": hours,
        "CapacityBlockDurationMinutes": 0,
        "UpfrontFee": fee,
        "CurrencyCode": "USD",
        "Tenancy": "default",
    }


def offerings_page(*offerings: dict) -> dict[str, Any]:
    return {"CapacityBlockOfferings": list(offerings)}


def reservation(reservation_id: str, az: str, *, state: str = "active", start: datetime | None = None,
                end: datetime | None = None, count: int = 8, available: int | None = None,
                instance_type: str = "p5.48xlarge", account_id: str = MAIN_ID, region: str = "us-east-1",
                block_id: str | None = None, tags: dict[str, str] | None = None) -> dict[str, Any]:
    start = start or at(days=-2)
    end = end or at(days=5)
    item: dict[str, Any] = {
        "CapacityReservationId": reservation_id,
        "OwnerId": account_id,
        "CapacityReservationArn": f"arn:aws:ec2:{region}:{account_id}:capacity-reservation/{reservation_id}",
        "AvailabilityZoneId": {"a": "use1-az4", "b": "use1-az6", "c": "use1-az1", "d": "use1-az2"}.get(az[-1], "use1-az3"),
        "InstanceType": instance_type,
        "InstancePlatform": "Linux/UNIX",
        "AvailabilityZone": az,
        "Tenancy": "default",
        "TotalInstanceCount": count,
        "AvailableInstanceCount": count if available is None else available,
        "EbsOptimized": True,
        "EphemeralStorage": False,
        "State": state,
        "StartDate": start,
        "EndDate": end,
        "EndDateType": "limited",
        "InstanceMatchCriteria": "targeted",
        "CreateDate": start - timedelta(days=10),
        "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()],
        "ReservationType": "capacity-block",
    }
    if block_id:
        item["CapacityBlockId"] = block_id
    return item


def purchase_response(offering: dict, reservation_id: str, block_id: str, tags: dict[str, str]) -> dict[str, Any]:
    res = reservation(reservation_id, offering["AvailabilityZone"], state="payment-pending",
                      start=offering["StartDate"], end=offering["EndDate"], count=offering["InstanceCount"],
                      instance_type=offering["InstanceType"], block_id=block_id, tags=tags)
    res["CreateDate"] = NOW
    return {
        "CapacityReservation": res,
        "CapacityBlocks": [{
            "CapacityBlockId": block_id,
            "AvailabilityZone": offering["AvailabilityZone"],
            "AvailabilityZoneId": res["AvailabilityZoneId"],
            "CapacityReservationIds": [reservation_id],
            "StartDate": offering["StartDate"],
            "EndDate": offering["EndDate"],
            "CreateDate": NOW,
            "State": "payment-pending",
            "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
        }],
    }


def capacity_blocks_page(*pairs: tuple[str, str], state: str = "active") -> dict[str, Any]:
    """describe_capacity_blocks: (block id, reservation id) pairs."""
    return {"CapacityBlocks": [{
        "CapacityBlockId": block_id,
        "AvailabilityZone": "us-east-1a",
        "AvailabilityZoneId": "use1-az4",
        "CapacityReservationIds": [reservation_id],
        "StartDate": at(days=-2),
        "EndDate": at(days=5),
        "CreateDate": at(days=-12),
        "State": state,
    } for block_id, reservation_id in pairs]}


def extension_offering(offering_id: str, reservation: dict, hours: int, fee: str = "6041.09") -> dict[str, Any]:
    return {
        "CapacityBlockExtensionOfferingId": offering_id,
        "InstanceType": reservation["InstanceType"],
        "InstanceCount": reservation["TotalInstanceCount"],
        "AvailabilityZone": reservation["AvailabilityZone"],
        "AvailabilityZoneId": reservation["AvailabilityZoneId"],
        "StartDate": reservation["StartDate"],
        "CapacityBlockExtensionStartDate": reservation["EndDate"],
        "CapacityBlockExtensionEndDate": reservation["EndDate"] + timedelta(hours=hours),
        "CapacityBlockExtensionDurationHours": hours,
        "UpfrontFee": fee,
        "CurrencyCode": "USD",
        "Tenancy": "default",
    }


def extension_purchase(offering: dict, reservation_id: str) -> dict[str, Any]:
    return {"CapacityBlockExtensions": [{
        "CapacityReservationId": reservation_id,
        "InstanceType": offering["InstanceType"],
        "InstanceCount": offering["InstanceCount"],
        "AvailabilityZone": offering["AvailabilityZone"],
        "AvailabilityZoneId": offering["AvailabilityZoneId"],
        "CapacityBlockExtensionOfferingId": offering["CapacityBlockExtensionOfferingId"],
        "CapacityBlockExtensionDurationHours": offering["CapacityBlockExtensionDurationHours"],
        "CapacityBlockExtensionStatus": "payment-pending",
        "CapacityBlockExtensionPurchaseDate": NOW,
        "CapacityBlockExtensionStartDate": offering["CapacityBlockExtensionStartDate"],
        "CapacityBlockExtensionEndDate": offering["CapacityBlockExtensionEndDate"],
        "UpfrontFee": offering["UpfrontFee"],
        "CurrencyCode": "USD",
    }]}


# ------------------------------------------------------------------------------------------- SageMaker


def plan_segment(az: str, *, start_day: float, hours: int, count: int = 4,
                 instance_type: str = "ml.p5.48xlarge") -> dict[str, Any]:
    start = midday(int(start_day))
    return {
        "ReservedCapacityType": "Instance",
        "InstanceType": instance_type,
        "InstanceCount": count,
        "AvailabilityZone": az,
        "DurationHours": hours,
        "DurationMinutes": 0,
        "StartTime": start,
        "EndTime": start + timedelta(hours=hours),
    }


def plan_offering(offering_id: str, segments: list[dict], *, fee: str, target: str = "hyperpod-cluster",
                  start_after: datetime | None = None, end_before: datetime | None = None) -> dict[str, Any]:
    return {
        "TrainingPlanOfferingId": offering_id,
        "TargetResources": [target],
        "RequestedStartTimeAfter": start_after or at(days=1),
        "RequestedEndTimeBefore": end_before or at(days=21),
        "DurationHours": sum(s["DurationHours"] for s in segments),
        "DurationMinutes": 0,
        "UpfrontFee": fee,
        "CurrencyCode": "USD",
        "ReservedCapacityOfferings": segments,
    }


def plan_summary(name: str, status: str, segments: list[dict], *, fee: str, total: int, available: int,
                 in_use: int, account_id: str = SECONDARY_ID, region: str = "us-west-2") -> dict[str, Any]:
    arn = f"arn:aws:sagemaker:{region}:{account_id}:training-plan/{name}"
    return {
        "TrainingPlanArn": arn,
        "TrainingPlanName": name,
        "Status": status,
        "StatusMessage": "" if status != "Failed" else "Payment failed",
        "DurationHours": sum(s["DurationHours"] for s in segments),
        "DurationMinutes": 0,
        "StartTime": segments[0]["StartTime"],
        "EndTime": segments[-1]["EndTime"],
        "UpfrontFee": fee,
        "CurrencyCode": "USD",
        "TotalInstanceCount": total,
        "AvailableInstanceCount": available,
        "InUseInstanceCount": in_use,
        "TargetResources": ["hyperpod-cluster"],
        "ReservedCapacitySummaries": [{
            "ReservedCapacityArn": f"arn:aws:sagemaker:{region}:{account_id}:reserved-capacity/{name}-rc{i}",
            "ReservedCapacityType": "Instance",
            "InstanceType": s["InstanceType"],
            "TotalInstanceCount": s["InstanceCount"],
            "Status": status if status != "Pending" else "Pending",
            "AvailabilityZone": s["AvailabilityZone"],
            "AvailabilityZoneId": "usw2-az1" if s["AvailabilityZone"].endswith("a") else "usw2-az2",
            "DurationHours": s["DurationHours"],
            "DurationMinutes": 0,
            "StartTime": s["StartTime"],
            "EndTime": s["EndTime"],
        } for i, s in enumerate(segments, start=1)],
    }


def plan_description(summary: dict, unhealthy: int = 0) -> dict[str, Any]:
    return {**summary, "UnhealthyInstanceCount": unhealthy, "AvailableSpareInstanceCount": 0}


# ------------------------------------------------------------------------------------------- scenarios


def call(service: str, method: str, response: dict | None = None, *, expected: dict | None = None,
         error: tuple[str, str] | None = None, status: int = 400) -> dict[str, Any]:
    entry: dict[str, Any] = {"service": service, "method": method, "expected_params": expected}
    if error:
        entry["error"] = {"code": error[0], "message": error[1], "status": status}
    else:
        entry["response"] = response if response is not None else {}
    return entry


def write_scenario(path: Path, calls: list[dict]) -> Path:
    path.write_text("import datetime\n\nCALLS = " + repr(calls) + "\n")
    return path


def identity(account_id: str = MAIN_ID, role: str = "TerraformExecutionRole") -> dict[str, Any]:
    """STS get_caller_identity answered for credentials of `account_id`: every purchase first checks that the
    session which will pay belongs to the account it buys in."""
    return call("sts", "get_caller_identity",
                {"UserId": "AROAEXAMPLEID:ml-clusters-capacity", "Account": account_id,
                 "Arn": f"arn:aws:sts::{account_id}:assumed-role/{role}/ml-clusters-capacity"}, expected={})
