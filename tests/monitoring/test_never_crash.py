"""Sensors never crash the daemon: an unreachable endpoint, a denied account, an API the endpoint
lacks — each costs only its slice, says why, and the other accounts still report."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest

from ml_clusters.resources.aws import AwsAccounts, clear_session_cache
from ml_clusters.sensors import SENSOR_SPECS
from tests.monitoring.emulator import MAIN, SECONDARY, STATE_BUCKET, Emulator, state_resource, state_v4, tag_list, unit_tags
from tests.monitoring.helpers import evaluations, monitoring_defs, observations, tick
from tests.support.moto_server import emulator_environment, free_port, moto_server

# Requests the emulator serves before it starts enforcing IAM (the setup below makes exactly these).
SETUP_REQUESTS = 6


def test_unreachable_aws_skips_every_slice_and_no_sensor_raises(emulator, estate, translator, instance):
    dead = AwsAccounts(endpoint_url=f"http://127.0.0.1:{free_port()}", max_attempts=1, connect_timeout_seconds=1)
    defs = monitoring_defs(estate, translator, aws=dead)
    for spec in SENSOR_SPECS:
        result = tick(defs, spec.name, instance)
        assert evaluations(result) == {}, spec.name  # nothing is judged on missing data
        skipped = {unit: numbers[f"{spec.area}/skipped"] for unit, numbers in observations(result).items()}
        assert skipped, spec.name
        assert all("unreachable" in reason for reason in skipped.values()), (spec.name, skipped)


@pytest.fixture
def iam_enforcing_emulator(monkeypatch) -> Iterator[tuple[Emulator, dict[str, str]]]:
    """A second emulator that enforces IAM: an observer user that may assume the observer role in the
    main account only (the secondary account denies it)."""
    clear_session_cache()
    with moto_server(extra_env={"INITIAL_NO_AUTH_ACTION_COUNT": str(SETUP_REQUESTS)}) as endpoint:
        for name, value in emulator_environment(endpoint).items():
            monkeypatch.setenv(name, value)
        admin = Emulator(endpoint)
        sts = boto3.client("sts", region_name="us-east-1", endpoint_url=endpoint)
        role = sts.assume_role(RoleArn=f"arn:aws:iam::{MAIN}:role/MlClustersObserver", RoleSessionName="setup")["Credentials"]  # 1
        main_iam = boto3.client(
            "iam",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=role["AccessKeyId"],
            aws_secret_access_key=role["SecretAccessKey"],
            aws_session_token=role["SessionToken"],
        )
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}
        main_iam.create_role(RoleName="MlClustersObserver", AssumeRolePolicyDocument=json.dumps(trust))  # 2
        everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        main_iam.put_role_policy(RoleName="MlClustersObserver", PolicyName="demo", PolicyDocument=json.dumps(everything))  # 3
        iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1")
        iam.create_user(UserName="observer")  # 4
        only_main = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::{MAIN}:role/*"}],
        }
        iam.put_user_policy(UserName="observer", PolicyName="assume-main-only", PolicyDocument=json.dumps(only_main))  # 5
        key = iam.create_access_key(UserName="observer")["AccessKey"]  # 6 — IAM is enforced from here on
        seeder = boto3.Session(
            aws_access_key_id=role["AccessKeyId"], aws_secret_access_key=role["SecretAccessKey"], aws_session_token=role["SessionToken"]
        )
        yield admin, {"seeder": seeder, "key": key, "endpoint": endpoint}
    clear_session_cache()


def test_a_denied_account_is_skipped_while_the_other_reports(iam_enforcing_emulator, estate, translator, instance, monkeypatch):
    _, setup = iam_enforcing_emulator
    seeder, endpoint = setup["seeder"], setup["endpoint"]
    # The main account's networking, as applied, and its state in the state bucket.
    ec2 = seeder.client("ec2", region_name="us-east-1", endpoint_url=endpoint)
    tags = unit_tags("main-account/us-east-1/networking")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": tag_list(tags)}])["Vpc"]["VpcId"]
    s3 = seeder.client("s3", region_name="us-east-1", endpoint_url=endpoint)
    s3.create_bucket(Bucket=STATE_BUCKET)
    state = state_v4(4, [state_resource("aws_vpc", "this", {"id": vpc, "cidr_block": "10.0.0.0/16", "tags_all": tags})])
    s3.put_object(Bucket=STATE_BUCKET, Key="main/us-east-1/networking/terraform.tfstate", Body=json.dumps(state).encode())
    state = state_v4(2, [state_resource("aws_vpc", "this", {"id": "vpc-0secondary", "cidr_block": "10.2.0.0/16", "tags_all": {}})])
    s3.put_object(Bucket=STATE_BUCKET, Key="secondary/us-east-1/networking/terraform.tfstate", Body=json.dumps(state).encode())

    # The sensors run as the observer user, who may enter the main account only.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", setup["key"]["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", setup["key"]["SecretAccessKey"])
    monkeypatch.delenv("AWS_SESSION_TOKEN")

    result = tick(monitoring_defs(estate, translator), "drift_sensor", instance)
    checks = evaluations(result)
    assert checks["main-account/us-east-1/networking"].passed, checks["main-account/us-east-1/networking"].description
    assert "secondary-account/us-east-1/networking" not in checks
    skipped = observations(result)["secondary-account/us-east-1/networking"]["drift/skipped"]
    assert skipped.startswith("secondary-account/us-east-1 [live api]: ")
    assert f"cannot assume arn:aws:iam::{SECONDARY}:role/MlClustersObserver: access denied (AccessDenied" in skipped
