"""The observer role (terraform/modules/iam, data.aws_iam_policy_document.observer) can make every call
the sensors make. Without a grant, a sensor tick fails with AccessDenied in production, while every
other test (run with the emulator's admin credentials) passes.

The calls are listed in ml_clusters.sensors.permissions; this test checks that list against the sensor
code (each boto3 operation the code calls is listed) and against the policy (each IAM action is
granted on an example resource of the estate)."""

from __future__ import annotations

import ast
import fnmatch
import re
from pathlib import Path

import botocore.session
import pytest
from botocore import xform_name

import ml_clusters.sensors
from ml_clusters.sensors.permissions import OBSERVER_API_CALLS
from tests.estate_static.hcl import labelled, resources

SENSORS_DIR = Path(ml_clusters.sensors.__file__).parent
ACCOUNT = "483026362307"
SERVICES = ["ec2", "s3", "eks", "sagemaker", "cloudformation", "fsx", "cloudwatch", "kms", "resourcegroupstaggingapi", "efs", "sts"]


def _operations() -> dict[str, set[str]]:
    """boto3 method name → services that have it."""
    session = botocore.session.get_session()
    names: dict[str, set[str]] = {}
    for service in SERVICES:
        for operation in session.get_service_model(service).operation_names:
            names.setdefault(xform_name(operation), set()).add(service)
    return names


def _called_in_sensor_code() -> dict[str, set[str]]:
    """Every AWS operation name the sensor code calls (a method call, or a string handed to
    get_paginator or to a fetch helper) → the files it appears in."""
    operations = _operations()
    found: dict[str, set[str]] = {}
    for path in sorted(SENSORS_DIR.glob("*.py")):
        if path.name == "permissions.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = None
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                name = node.func.attr
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                name = node.value
            if name in operations:
                found.setdefault(name, set()).add(path.name)
    return found


def _substitute(text: str) -> str:
    return (
        text.replace("${local.partition}", "aws")
        .replace("${local.account_id}", ACCOUNT)
        .replace("${var.name_prefix}", labelled("iam", "variable")["name_prefix"]["default"])
    )


def _observer_statements() -> list[dict]:
    document = resources("iam", "data")[("aws_iam_policy_document", "observer")]
    statements = []
    for statement in document["statement"]:
        assert statement.get("effect", "Allow") == "Allow"
        statements.append(
            {
                "sid": statement.get("sid"),
                "actions": list(statement["actions"]),
                "resources": [_substitute(r) for r in statement["resources"]],
                "conditions": [
                    {"test": c["test"], "variable": c["variable"], "values": [_substitute(v) for v in c["values"]]}
                    for c in statement.get("condition", [])
                ],
            }
        )
    return statements


def _granting(action: str, resource: str) -> list[dict]:
    return [
        s
        for s in _observer_statements()
        if any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in s["actions"])
        and any(fnmatch.fnmatchcase(resource, r) for r in s["resources"])
    ]


def test_every_aws_operation_the_sensors_call_is_listed():
    listed = {call.operation for call in OBSERVER_API_CALLS}
    missing = {op: files for op, files in _called_in_sensor_code().items() if op not in listed}
    assert not missing, f"called by the sensors but not in ml_clusters/sensors/permissions.py: {missing}"


def test_the_list_names_real_operations_only():
    operations = _operations()
    for call in OBSERVER_API_CALLS:
        if call.service in {"execute-api"} or call.operation.startswith("("):
            continue
        assert call.service in operations.get(call.operation, set()), call
    # The SigV4-signed ParallelCluster API call is in the code, and in the list.
    assert '"execute-api"' in (SENSORS_DIR / "health.py").read_text(encoding="utf-8")
    assert any(c.action == "execute-api:Invoke" for c in OBSERVER_API_CALLS)


@pytest.mark.parametrize("call", OBSERVER_API_CALLS, ids=lambda c: f"{c.service}.{c.operation}")
def test_the_observer_role_is_granted_every_call(call):
    assert _granting(call.action, call.example_resource), (
        f"the observer policy does not grant {call.action} on {call.example_resource} ({call.who})"
    )


def test_the_observer_can_read_and_decrypt_terraform_state_only():
    state_bucket = f"arn:aws:s3:::ml-clusters-tfstate-{ACCOUNT}"
    assert _granting("s3:ListBucket", state_bucket)
    assert _granting("s3:GetObject", f"{state_bucket}/secondary/us-west-2/hyperpod-slurm/terraform.tfstate")
    # Read-only, and not the data buckets' objects (datasets, checkpoints).
    for write in ("s3:PutObject", "s3:DeleteObject"):
        assert not _granting(write, f"{state_bucket}/main/us-east-1/networking/terraform.tfstate")
    assert not _granting("s3:GetObject", f"arn:aws:s3:::ml-clusters-data-{ACCOUNT}-us-east-1/datasets/x")

    # Decrypt: the state key (tfstate module: alias/<bucket name>) through S3 only.
    [decrypt] = _granting("kms:Decrypt", f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k")
    conditions = {c["variable"]: c for c in decrypt["conditions"]}
    assert any(fnmatch.fnmatchcase(f"alias/ml-clusters-tfstate-{ACCOUNT}", v) for v in conditions["kms:ResourceAliases"]["values"])
    assert conditions["kms:ResourceAliases"]["test"] == "ForAnyValue:StringLike"
    assert any(fnmatch.fnmatchcase("s3.us-east-1.amazonaws.com", v) for v in conditions["kms:ViaService"]["values"])


def test_the_state_key_and_bucket_leave_same_account_readers_to_iam():
    """The IAM grants above only work if the tfstate module's key policy delegates to the account's IAM
    (root with kms:*) and its bucket policy denies nothing but insecure transport."""
    state = resources("tfstate", "data")
    key_policy = state[("aws_iam_policy_document", "state_key")]["statement"]
    assert any(
        s.get("actions") == ["kms:*"] and any(":root" in i for p in s.get("principals", []) for i in p["identifiers"])
        for s in key_policy
    )
    assert resources("tfstate")[("aws_kms_key", "state")]["policy"].endswith("data.aws_iam_policy_document.state_key.json}")
    alias = resources("tfstate")[("aws_kms_alias", "state")]["name"]
    assert alias == "alias/${var.bucket_name}"
    denies = [s for s in state[("aws_iam_policy_document", "state")]["statement"] if s.get("effect") == "Deny"]
    assert [d["condition"][0]["variable"] for d in denies] == ["aws:SecureTransport"]


def test_the_parallelcluster_api_grant_is_read_only():
    assert _granting("execute-api:Invoke", f"arn:aws:execute-api:us-west-2:{ACCOUNT}:abc/prod/GET/v3/clusters/pc")
    for method, path in (("POST", "v3/clusters"), ("DELETE", "v3/clusters/pc"), ("PATCH", "v3/clusters/pc/computefleet")):
        assert not _granting("execute-api:Invoke", f"arn:aws:execute-api:us-west-2:{ACCOUNT}:abc/prod/{method}/{path}")


def test_no_observer_grant_writes():
    for statement in _observer_statements():
        for action in statement["actions"]:
            verb = re.split(r"[:]", action)[1]
            assert verb.startswith(("Describe", "List", "Get", "Decrypt")) or action == "execute-api:Invoke", action
