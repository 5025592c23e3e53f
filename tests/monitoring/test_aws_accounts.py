"""AwsAccounts against the emulator: assume-role per account, cached sessions, adaptive retries,
and failures reported as one line naming the account/region and the cause."""

from __future__ import annotations

import pytest

from ml_clusters.resources.aws import (
    AwsAccounts,
    OperationNotSupported,
    SliceUnavailable,
    clear_session_cache,
    count_api_calls,
    describe_aws_error,
)
from tests.monitoring.emulator import MAIN, SECONDARY
from tests.support.moto_server import free_port


def test_each_account_is_entered_through_its_observer_role(emulator):
    emulator.bucket(SECONDARY, "us-east-1", "only-in-secondary", "secondary-account/us-east-1/s3-data-replica")
    aws = AwsAccounts()
    identity = aws.client(SECONDARY, "us-west-2", "sts").get_caller_identity()
    assert identity["Account"] == SECONDARY
    assert ":assumed-role/MlClustersObserver/ml-clusters-observer" in identity["Arn"]
    names = lambda account: [b["Name"] for b in aws.client(account, "us-east-1", "s3").list_buckets()["Buckets"]]  # noqa: E731
    assert names(SECONDARY) == ["only-in-secondary"]
    assert names(MAIN) == []  # accounts are isolated


def test_observer_role_name_is_configurable(emulator):
    arn = AwsAccounts(observer_role_name="ReadOnlyAudit").client(MAIN, "us-east-1", "sts").get_caller_identity()["Arn"]
    assert ":assumed-role/ReadOnlyAudit/" in arn


def test_plain_boto3_credentials_when_assume_role_is_off(emulator):
    identity = AwsAccounts(assume_observer_role=False).client(MAIN, "us-east-1", "sts").get_caller_identity()
    assert identity["Account"] == "123456789012"  # the base credentials' own account


def test_sessions_are_cached_for_their_lifetime(emulator):
    aws = AwsAccounts()
    with count_api_calls() as first:
        aws.client(MAIN, "us-east-1", "s3").list_buckets()
        aws.client(MAIN, "us-east-1", "ec2").describe_vpcs()
    with count_api_calls() as second:  # the next tick: same process, no STS call
        AwsAccounts().client(MAIN, "us-east-1", "s3").list_buckets()
    assert first.calls["sts.AssumeRole"] == 1
    assert "sts.AssumeRole" not in second.calls
    clear_session_cache()
    with count_api_calls() as cold:
        aws.client(MAIN, "us-east-1", "s3").list_buckets()
    assert cold.calls["sts.AssumeRole"] == 1


def test_clients_use_adaptive_retries(emulator):
    client = AwsAccounts(max_attempts=6).client(MAIN, "us-east-1", "s3")
    assert client.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 6}


def test_an_api_the_endpoint_lacks_costs_one_request_and_says_so(emulator):
    ec2 = AwsAccounts().client(MAIN, "us-east-1", "ec2")
    with count_api_calls() as tally, pytest.raises(OperationNotSupported) as raised:
        ec2.describe_capacity_reservations()
    assert tally.calls["ec2.DescribeCapacityReservations"] == 1  # not retried
    assert describe_aws_error(raised.value).startswith("not supported by this endpoint: ec2 DescribeCapacityReservations")


def test_an_unreachable_endpoint_is_one_line_naming_the_slice(emulator):
    aws = AwsAccounts(endpoint_url=f"http://127.0.0.1:{free_port()}", max_attempts=1, connect_timeout_seconds=1)
    with pytest.raises(SliceUnavailable) as raised:
        aws.client(SECONDARY, "us-west-2", "eks")
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"account {SECONDARY} region us-west-2: cannot assume arn:aws:iam::{SECONDARY}:role/MlClustersObserver: unreachable")


def test_a_failed_account_fails_fast_for_the_rest_of_the_tick(emulator):
    aws = AwsAccounts(endpoint_url=f"http://127.0.0.1:{free_port()}", max_attempts=1, connect_timeout_seconds=1)
    with count_api_calls() as tally:
        for service in ("eks", "sagemaker", "cloudformation", "fsx"):
            with pytest.raises(SliceUnavailable):
                aws.client(SECONDARY, "us-west-2", service)
    assert tally.calls["sts.AssumeRole"] == 1  # one timeout per account/region, not one per API


def test_the_profile_configuration_survives_the_assumed_role(emulator, tmp_path, monkeypatch):
    # The emulator is reachable only through the profile's endpoint_url (no AWS_ENDPOINT_URL): the
    # assumed-role sessions must keep the profile's configuration, not just use it for STS.
    config = tmp_path / "config"
    config.write_text(
        f"[profile sandbox]\nregion = us-east-1\nendpoint_url = {emulator.endpoint}\n"
        "aws_access_key_id = testing\naws_secret_access_key = testing\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    emulator.bucket(SECONDARY, "us-east-1", "only-in-secondary", "secondary-account/us-east-1/s3-data-replica")

    aws = AwsAccounts(profile_name="sandbox", max_attempts=1, connect_timeout_seconds=1)
    identity = aws.client(SECONDARY, "us-west-2", "sts").get_caller_identity()
    assert identity["Account"] == SECONDARY
    assert ":assumed-role/MlClustersObserver/" in identity["Arn"]
    buckets = aws.client(SECONDARY, "us-east-1", "s3").list_buckets()["Buckets"]
    assert [b["Name"] for b in buckets] == ["only-in-secondary"]
