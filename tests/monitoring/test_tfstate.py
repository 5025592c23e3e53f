"""The drift probe's comparisons and live reads, on their own (no sensor tick needed)."""

from __future__ import annotations

import boto3
from botocore.stub import Stubber

from ml_clusters.sensors.tfstate import KINDS, StateResource, compare_resources


def _icmp_rule(from_port, to_port) -> StateResource:
    # aws_vpc_security_group_ingress_rule { ip_protocol = "icmp", from_port = -1, to_port = -1, ... }
    return StateResource(
        "aws_vpc_security_group_ingress_rule.icmp",
        "aws_vpc_security_group_ingress_rule",
        None,
        {
            "security_group_rule_id": "sgr-1",
            "security_group_id": "sg-1",
            "ip_protocol": "icmp",
            "from_port": from_port,
            "to_port": to_port,
            "cidr_ipv4": "10.0.0.0/16",
        },
    )


def _live_icmp(from_port, to_port) -> dict:
    """What DescribeSecurityGroupRules returns for that rule."""
    return {
        "SecurityGroupRuleId": "sgr-1",
        "GroupId": "sg-1",
        "IsEgress": False,
        "IpProtocol": "icmp",
        "FromPort": from_port,
        "ToPort": to_port,
        "CidrIpv4": "10.0.0.0/16",
    }


def test_an_all_types_icmp_rule_is_not_reported_as_drift():
    assert compare_resources([_icmp_rule(-1, -1)], lambda r: _live_icmp(-1, -1)).differences == []
    # A specific ICMP type/code still compares, and a changed one is still drift.
    assert compare_resources([_icmp_rule(8, 0)], lambda r: _live_icmp(8, 0)).differences == []
    [diff] = compare_resources([_icmp_rule(8, 0)], lambda r: _live_icmp(-1, -1)).differences
    assert diff.attribute == "ports" and diff.recorded == "8-0"


def test_more_than_200_ids_are_asked_for_in_batches_of_200():
    """EC2 rejects a filter with more than 200 values: a region with 450 recorded VPCs takes 3 calls."""
    ec2 = boto3.client("ec2", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    ids = [f"vpc-{i:017x}" for i in range(450)]
    stubber = Stubber(ec2)
    for start in range(0, 450, 200):
        batch = ids[start : start + 200]
        stubber.add_response(
            "describe_vpcs",
            {"Vpcs": [{"VpcId": v, "CidrBlock": "10.0.0.0/16"} for v in batch if v != ids[300]]},
            {"Filters": [{"Name": "vpc-id", "Values": batch}]},
        )
    with stubber:
        live = KINDS["aws_vpc"].fetch(ec2, ids)
    stubber.assert_no_pending_responses()
    assert len(live) == 450
    assert all(live[v]["VpcId"] == v for v in ids if v != ids[300])
    assert live[ids[300]] is not None and not isinstance(live[ids[300]], dict)  # MISSING: gone
