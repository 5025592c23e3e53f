"""SageMaker Training Plans: search offerings, buy one, list and describe plans.

Training Plans have no Terraform resource, so this is the only managed way to buy one in the estate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from botocore.client import BaseClient
from botocore.exceptions import ClientError

from ml_clusters.capacity.aws import pages, require_operation
from ml_clusters.capacity.errors import AWS_ERRORS, CapacityError, error_code, explain
from ml_clusters.capacity.models import PlanOffering, Query, TrainingPlan

TARGETS = ("hyperpod-cluster", "training-job", "endpoint")
PLAN_STATUSES = ("Pending", "Scheduled", "Active", "Expired", "Failed")
_PLAN_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,63}$")


@dataclass(frozen=True)
class PlanQuery(Query):
    """What `training-plans search` asked for; remembered so `purchase` can re-check the offering."""

    target: str
    instance_type: str
    instance_count: int
    duration_hours: int | None = None
    start_after: datetime | None = None
    end_before: datetime | None = None

    def __post_init__(self):
        if self.target not in TARGETS:
            raise CapacityError(f"unknown target resource {self.target!r}; use one of {', '.join(TARGETS)}")
        if not self.instance_type.startswith("ml."):
            raise CapacityError(f"training plans reserve SageMaker instance types (ml.*), not {self.instance_type!r}; "
                                f"try ml.{self.instance_type}")

    def api_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "TargetResources": [self.target],
            "InstanceType": self.instance_type,
            "InstanceCount": self.instance_count,
        }
        if self.duration_hours:
            params["DurationHours"] = self.duration_hours
        if self.start_after:
            params["StartTimeAfter"] = self.start_after
        if self.end_before:
            params["EndTimeBefore"] = self.end_before
        return params

    def describe(self) -> str:
        hours = f" for {self.duration_hours} h" if self.duration_hours else ""
        return f"{self.instance_count} x {self.instance_type}{hours} ({self.target})"


def search_offerings(sm: BaseClient, query: PlanQuery, *, region: str | None = None) -> list[PlanOffering]:
    require_operation(sm, "search_training_plan_offerings")
    try:
        response = sm.search_training_plan_offerings(**query.api_params())
    except AWS_ERRORS as exc:
        raise explain(exc, action="search_training_plan_offerings", region=region) from None
    offerings = [PlanOffering.from_api(o) for o in response.get("TrainingPlanOfferings", ())]
    return sorted(offerings, key=lambda o: (o.start is None, o.start.isoformat() if o.start else "", o.offering_id))


def find_offering(sm: BaseClient, query: PlanQuery, offering_id: str, *, region: str | None = None) -> PlanOffering:
    for offering in search_offerings(sm, query, region=region):
        if offering.offering_id == offering_id:
            return offering
    raise CapacityError(f"training-plan offering {offering_id} is no longer offered for {query.describe()} (it "
                        "expired or was taken since the search); nothing bought — run search again")


def check_plan_name(name: str) -> str:
    if not _PLAN_NAME.match(name):
        raise CapacityError(f"invalid training plan name {name!r}: 1-64 letters, digits and single hyphens, "
                            "starting and ending with a letter or digit")
    return name


def purchase(sm: BaseClient, offering: PlanOffering, *, name: str, tags: Mapping[str, str],
             region: str | None = None) -> str:
    """Create the plan (this is the purchase: the upfront fee is charged). Returns its ARN."""
    require_operation(sm, "create_training_plan")
    check_plan_name(name)
    params: dict[str, Any] = {"TrainingPlanName": name, "TrainingPlanOfferingId": offering.offering_id}
    if tags:
        params["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    try:
        return sm.create_training_plan(**params)["TrainingPlanArn"]
    except ClientError as exc:
        if error_code(exc) == "ResourceInUse":
            raise CapacityError(f"a training plan named {name!r} already exists; choose another --name; "
                                "nothing bought") from None
        raise explain(exc, action="create_training_plan", region=region, offering_id=offering.offering_id,
                      buying=True) from None
    except Exception as exc:  # noqa: BLE001 — a lost answer must not look like "nothing bought"
        raise explain(exc, action="create_training_plan", region=region, buying=True) from None


def list_plans(sm: BaseClient, *, status: str | None = None, with_health: bool = True,
               region: str | None = None) -> list[TrainingPlan]:
    """Plans, newest first. `with_health` asks describe_training_plan for the unhealthy count of active plans
    (list_training_plans does not return it)."""
    require_operation(sm, "list_training_plans")
    params: dict[str, Any] = {"SortBy": "StartTime", "SortOrder": "Descending"}
    if status:
        params["Filters"] = [{"Name": "Status", "Value": status}]
    try:
        plans = [TrainingPlan.from_api(p) for p in pages(sm.list_training_plans, "TrainingPlanSummaries", **params)]
    except AWS_ERRORS as exc:
        raise explain(exc, action="list_training_plans", region=region) from None
    if with_health:
        plans = [describe_plan(sm, p.name, region=region) if p.status == "Active" else p for p in plans]
    return plans


def describe_plan(sm: BaseClient, name: str, *, region: str | None = None) -> TrainingPlan:
    require_operation(sm, "describe_training_plan")
    try:
        return TrainingPlan.from_api(sm.describe_training_plan(TrainingPlanName=name))
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFound":
            raise CapacityError(f"no training plan {name!r} in {region or 'this Region'}") from None
        raise explain(exc, action="describe_training_plan", region=region) from None
    except AWS_ERRORS as exc:
        raise explain(exc, action="describe_training_plan", region=region) from None
