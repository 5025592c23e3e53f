"""Seeding the AWS emulator (moto server) the way the estate's Terraform would leave it.

Every resource gets the `ml-clusters:unit` tag, as root.hcl's default_tags do in production.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3

from ml_clusters.sensors.mapping import UNIT_TAG

MAIN = "483026362307"
SECONDARY = "159553542841"
STATE_BUCKET = "ml-clusters-tfstate-483026362307"


def unit_tags(unit: str, **extra: str) -> dict[str, str]:
    account, region, _ = unit.split("/")
    return {"ManagedBy": "terraform", "Account": account.split("-")[0], "Region": region, UNIT_TAG: unit, **extra}


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


@dataclass
class Emulator:
    """Admin access to the emulator: a session in any account/region (assume-role, like Terraform)."""

    endpoint: str
    # One assume-role per account/region for the emulator's lifetime (a fixture's Emulator is created
    # after the reset, so its credentials stay valid), not one per client the seeding asks for.
    _sessions: dict[tuple[str, str], boto3.Session] = field(default_factory=dict, repr=False)

    def session(self, account_id: str, region: str) -> boto3.Session:
        cached = self._sessions.get((account_id, region))
        if cached is None:
            cached = self._sessions[(account_id, region)] = self._assume(account_id, region)
        return cached

    def _assume(self, account_id: str, region: str) -> boto3.Session:
        sts = boto3.client("sts", region_name=region, endpoint_url=self.endpoint)
        credentials = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/TerraformExecutionRole", RoleSessionName="seed"
        )["Credentials"]
        return boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=region,
        )

    def client(self, account_id: str, region: str, service: str) -> Any:
        return self.session(account_id, region).client(service, endpoint_url=self.endpoint)

    # --- S3 -------------------------------------------------------------------------------------------

    def bucket(self, account_id: str, region: str, name: str, unit: str, versioned: bool = True) -> None:
        s3 = self.client(account_id, region, "s3")
        kwargs: dict[str, Any] = {"Bucket": name}
        if region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(**kwargs)
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tag_list(unit_tags(unit))})
        if versioned:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})

    def replication(self, account_id: str, region: str, source: str, rules: dict[str, str]) -> None:
        """rules: rule id → destination bucket name (RTC 15 min + metrics, like the s3-replication module)."""
        s3 = self.client(account_id, region, "s3")
        s3.put_bucket_replication(
            Bucket=source,
            ReplicationConfiguration={
                "Role": f"arn:aws:iam::{account_id}:role/ml-clusters-s3-replication",
                "Rules": [
                    {
                        "ID": rule_id,
                        "Priority": priority,
                        "Status": "Enabled",
                        "Filter": {"Prefix": ""},
                        "DeleteMarkerReplication": {"Status": "Disabled"},
                        "Destination": {
                            "Bucket": f"arn:aws:s3:::{destination}",
                            "ReplicationTime": {"Status": "Enabled", "Time": {"Minutes": 15}},
                            "Metrics": {"Status": "Enabled", "EventThreshold": {"Minutes": 15}},
                        },
                    }
                    for priority, (rule_id, destination) in enumerate(sorted(rules.items()), start=1)
                ],
            },
        )

    def replication_metrics(
        self,
        account_id: str,
        region: str,
        source: str,
        destination: str,
        rule_id: str,
        *,
        latency: float,
        pending_operations: float = 0,
        pending_bytes: float = 0,
        failed_operations: float = 0,
        at: datetime | None = None,
    ) -> None:
        """What S3 publishes for one rule (in the source owner's account)."""
        at = at or datetime.now(timezone.utc) - timedelta(minutes=1)
        dims = [
            {"Name": "SourceBucket", "Value": source},
            {"Name": "DestinationBucket", "Value": destination},
            {"Name": "RuleId", "Value": rule_id},
        ]
        self.client(account_id, region, "cloudwatch").put_metric_data(
            Namespace="AWS/S3",
            MetricData=[
                {"MetricName": "ReplicationLatency", "Dimensions": dims, "Value": latency, "Unit": "Seconds", "Timestamp": at},
                {"MetricName": "OperationsPendingReplication", "Dimensions": dims, "Value": pending_operations, "Unit": "Count", "Timestamp": at},
                {"MetricName": "BytesPendingReplication", "Dimensions": dims, "Value": pending_bytes, "Unit": "Bytes", "Timestamp": at},
                {"MetricName": "OperationsFailedReplication", "Dimensions": dims, "Value": failed_operations, "Unit": "Count", "Timestamp": at},
            ],
        )

    # --- Terraform state ------------------------------------------------------------------------------

    def put_state(self, key: str, state: dict[str, Any]) -> None:
        s3 = self.client(MAIN, "us-east-1", "s3")
        try:
            s3.create_bucket(Bucket=STATE_BUCKET)
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        s3.put_object(Bucket=STATE_BUCKET, Key=key, Body=json.dumps(state).encode())


def state_v4(serial: int, resources: list[dict[str, Any]], lineage: str = "9f1c2b7e-lineage") -> dict[str, Any]:
    return {
        "version": 4,
        "terraform_version": "1.10.5",
        "serial": serial,
        "lineage": lineage,
        "outputs": {},
        "resources": resources,
        "check_results": None,
    }


def state_resource(type_: str, name: str, attributes: dict[str, Any], module: str | None = None, alias: str | None = None) -> dict[str, Any]:
    provider = 'provider["registry.terraform.io/hashicorp/aws"]' + (f".{alias}" if alias else "")
    block = {
        "mode": "managed",
        "type": type_,
        "name": name,
        "provider": provider,
        "instances": [{"schema_version": 0, "attributes": attributes, "sensitive_attributes": [], "private": "bnVsbA=="}],
    }
    if module:
        block["module"] = module
    return block
