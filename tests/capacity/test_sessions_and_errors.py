"""Account sessions (a real assume-role through the moto server) and the one-line error messages."""

from __future__ import annotations

import socket
from pathlib import Path

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoRegionError, ReadTimeoutError
from botocore.stub import Stubber

from ml_clusters.capacity import aws
from ml_clusters.capacity.accounts import resolve_account, target_for
from ml_clusters.capacity.errors import CapacityError, explain
from ml_clusters.estate import load_estate

LIVE = Path(__file__).resolve().parents[2] / "terraform" / "live"


@pytest.fixture
def moto_sts(monkeypatch):
    """The moto server on a free loopback port, reached only for STS (so assume-role really happens)."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    for name in ("AWS_ENDPOINT_URL", "ML_CLUSTERS_NO_ASSUME_ROLE", "ML_CLUSTERS_CAPACITY_ROLE", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setattr(aws, "_sessions", {})
    yield
    server.stop()


def test_an_estate_account_is_reached_by_assuming_its_role(moto_sts):
    account = resolve_account(load_estate(LIVE), "secondary")
    session = aws.session_for(target_for(account, "us-west-2"))
    identity = session.client("sts").get_caller_identity()
    assert identity["Account"] == "159553542841"
    assert "assumed-role/TerraformExecutionRole/ml-clusters-capacity" in identity["Arn"]


def test_the_role_is_configurable(moto_sts, monkeypatch):
    monkeypatch.setenv("ML_CLUSTERS_CAPACITY_ROLE", "arn:aws:iam::{account_id}:role/CapacityPurchaser")
    account = resolve_account(load_estate(LIVE), "main-account")
    identity = aws.session_for(target_for(account, "us-east-1")).client("sts").get_caller_identity()
    assert identity["Account"] == "483026362307"
    assert "assumed-role/CapacityPurchaser/" in identity["Arn"]


def test_endpoint_url_or_opt_out_uses_plain_credentials(monkeypatch):
    monkeypatch.setenv("ML_CLUSTERS_NO_ASSUME_ROLE", "1")
    assert not aws.assume_role_wanted()
    monkeypatch.delenv("ML_CLUSTERS_NO_ASSUME_ROLE")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    assert not aws.assume_role_wanted()
    session = aws.session_for(aws.Target(region="us-east-1", account_id="483026362307"))
    assert session.region_name == "us-east-1"


def test_account_hcl_may_name_the_capacity_role():
    account = resolve_account(load_estate(LIVE), "main")
    target = target_for(account.__class__(key=account.key, name=account.name, id=account.id,
                                          locals={**account.locals, "capacity_role": "GpuBuyer"}), "us-east-1")
    assert aws.role_arn(target.account_id, target.role) == "arn:aws:iam::483026362307:role/GpuBuyer"
    assert aws.role_arn("159553542841") == "arn:aws:iam::159553542841:role/TerraformExecutionRole"


def test_a_denied_assume_role_is_one_line_naming_the_role(monkeypatch):
    for name in ("AWS_ENDPOINT_URL", "ML_CLUSTERS_NO_ASSUME_ROLE", "ML_CLUSTERS_CAPACITY_ROLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(aws, "_sessions", {})
    sts = botocore.session.get_session().create_client("sts", region_name="us-east-1", aws_access_key_id="x",
                                                        aws_secret_access_key="x")
    stubber = Stubber(sts)
    stubber.add_client_error("assume_role", "AccessDenied", "User: arn:aws:iam::111111111111:user/dev is not "
                             "authorized to perform: sts:AssumeRole", 403)
    stubber.activate()
    monkeypatch.setattr(boto3.Session, "client", lambda self, *a, **k: sts)
    with pytest.raises(CapacityError) as err:
        aws.session_for(aws.Target(region="us-east-1", account_id="483026362307"))
    message = str(err.value)
    assert message.startswith("cannot assume arn:aws:iam::483026362307:role/TerraformExecutionRole: ")
    assert "access denied" in message and "\n" not in message


def client_error(code: str, message: str = "") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "PurchaseCapacityBlock")


@pytest.mark.parametrize("exc, kwargs, expected", [
    (client_error("AuthFailure", "AWS was not able to validate the provided access credentials"), {},
     "purchase in us-east-1: access denied (AuthFailure: AWS was not able to validate"),
    (client_error("InsufficientInstanceCapacity", "There is not enough capacity"), {},
     "purchase in us-east-1: insufficient capacity"),
    (client_error("UnsupportedOperation", "The operation is not supported in this Region"), {},
     "purchase is not available in us-east-1"),
    (client_error("InvalidParameterValue", "The capacity block offering has expired."),
     {"offering_id": "cbo-1"}, "offering cbo-1 is no longer available"),
    (client_error("RequestLimitExceeded", "Request limit exceeded."), {}, "AWS throttled the request"),
    (ReadTimeoutError(endpoint_url="https://ec2.us-east-1.amazonaws.com/"), {"buying": True},
     "the purchase MAY have gone through; check `list` before trying again"),
    (EndpointConnectionError(endpoint_url="https://api.sagemaker.ap-south-2.amazonaws.com/"), {},
     "no reachable endpoint in us-east-1"),
    (NoRegionError(), {}, "no AWS Region given"),
])
def test_explain_gives_one_line(exc, kwargs, expected):
    message = str(explain(exc, action="purchase", region="us-east-1", **kwargs))
    assert expected in message
    assert "\n" not in message


def test_an_operation_missing_from_botocore_is_named():
    ec2 = botocore.session.get_session().create_client("ec2", region_name="us-east-1", aws_access_key_id="x",
                                                        aws_secret_access_key="x")
    assert aws.has_operation(ec2, "describe_capacity_block_offerings")
    assert aws.has_operation(ec2, "describe_capacity_blocks")
    assert not aws.has_operation(ec2, "describe_capacity_block_teleports")
    with pytest.raises(CapacityError, match=r"the installed botocore [\d.]+ has no ec2.describe_capacity_block_"
                                            r"teleports; upgrade boto3/botocore"):
        aws.require_operation(ec2, "describe_capacity_block_teleports")


@pytest.fixture
def moto_endpoint(monkeypatch, tmp_path):
    """The moto server as AWS_ENDPOINT_URL — the sandbox's emulator, which lacks the capacity APIs."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("ML_CLUSTERS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setattr(aws, "client_factory", aws.make_client)
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.mark.parametrize("args", [
    ["capacity-blocks", "search", "-t", "p5.48xlarge", "-n", "1", "--hours", "24", "--region", "us-east-1"],
    ["training-plans", "search", "-t", "ml.p5.48xlarge", "-n", "1", "--region", "us-east-1"],
])
def test_against_the_emulator_the_missing_apis_are_one_line(moto_endpoint, args):
    import typer
    from typer.testing import CliRunner

    from ml_clusters.capacity.cli import register

    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
    assert f"the endpoint {moto_endpoint} (AWS_ENDPOINT_URL) failed" in result.stderr
    assert "does not implement the Capacity Block / Training Plan APIs" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "<" not in result.stderr


def test_a_purchase_checks_the_paying_account_on_the_assumed_session(moto_sts):
    account = resolve_account(load_estate(LIVE), "secondary")
    aws.verify_account(target_for(account, "us-west-2"), action="purchase")  # the assumed role is in 159553542841


def test_without_assume_role_a_purchase_in_another_account_is_refused(moto_sts, monkeypatch):
    """--account only names the account: with the ambient identity (moto's default account), nothing is bought."""
    monkeypatch.setenv("ML_CLUSTERS_NO_ASSUME_ROLE", "1")
    account = resolve_account(load_estate(LIVE), "secondary")
    with pytest.raises(CapacityError) as refused:
        aws.verify_account(target_for(account, "us-west-2"), action="purchase")
    assert str(refused.value) == (
        "purchase: refusing to buy in secondary-account (159553542841): the credentials in use belong to account "
        "123456789012 (ambient credentials are used as is because ML_CLUSTERS_NO_ASSUME_ROLE is set); nothing bought")


def test_against_the_emulator_a_purchase_for_an_estate_account_is_refused(moto_endpoint):
    account = resolve_account(load_estate(LIVE), "main")
    with pytest.raises(CapacityError, match=r"belong to account 123456789012 \(ambient credentials are used as is "
                                            r"because AWS_ENDPOINT_URL is set\); nothing bought"):
        aws.verify_account(target_for(account, "us-east-1"), action="purchase")
