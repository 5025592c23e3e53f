"""One seeder per Terraform module: create in the emulator what the module creates, record it as state.

Each seeder reads the unit's inputs (with dependency outputs resolved), creates the resources the emulator
supports with the unit's tags, and records resources + outputs named as the module names them. What the
emulator cannot hold is left out and noted — never imitated.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

from ml_clusters.sandbox.seed import SeedContext, SeededUnit, Seeder


def _tag_list(tags: dict[str, str], key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    return [{key: k, value: v} for k, v in tags.items()]


def ensure_bucket(s3: Any, name: str, region: str, *, versioned: bool = False) -> None:
    config = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    try:
        s3.create_bucket(Bucket=name, **config)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    if versioned:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})


# --- networking ---------------------------------------------------------------------------------


def seed_networking(ctx: SeedContext, seeded: SeededUnit) -> None:
    """The VPC module (terraform-aws-modules/vpc as `module.vpc`), the EFA group and the S3 endpoint.
    Subnet plan as the module's: private /18s = cidrsubnet(vpc, 2, i), public /24s = cidrsubnet(vpc, 8, 192 + i)."""
    unit = seeded.unit
    ec2 = ctx.aws(unit, "ec2")
    name = ctx.input(unit, "name", f"ml-{unit.account.name}-{unit.region}")
    cidr = ctx.input(unit, "vpc_cidr") or _fallback_cidr(ctx, unit)
    azs = list(ctx.input(unit, "azs") or [f"{unit.region}{z}" for z in "abc"])

    tags, tags_all = ctx.tags(unit, Name=name)
    vpc_id = ec2.create_vpc(CidrBlock=cidr, TagSpecifications=[{"ResourceType": "vpc", "Tags": _tag_list(tags_all)}])[
        "Vpc"
    ]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    seeded.add(
        "aws_vpc",
        "this",
        {
            "id": vpc_id,
            "arn": f"arn:aws:ec2:{unit.region}:{unit.account.id}:vpc/{vpc_id}",
            "cidr_block": cidr,
            "enable_dns_hostnames": True,
            "enable_dns_support": True,
            "owner_id": unit.account.id,
            "tags": tags,
            "tags_all": tags_all,
        },
        index_key=0,
        module="module.vpc",
    )

    network = ipaddress.ip_network(cidr)
    private_cidrs = [str(list(network.subnets(prefixlen_diff=2))[i]) for i in range(len(azs))]
    public_cidrs = [str(list(network.subnets(prefixlen_diff=8))[192 + i]) for i in range(len(azs))]
    subnet_ids: dict[str, list[str]] = {"private": [], "public": []}
    route_tables: list[str] = []
    for kind, cidrs, extra in (
        (
            "private",
            private_cidrs,
            {
                "karpenter.sh/discovery": name,
                "kubernetes.io/role/internal-elb": "1",
                "ml-clusters:subnet-tier": "compute",
            },
        ),
        ("public", public_cidrs, {"kubernetes.io/role/elb": "1", "ml-clusters:subnet-tier": "public"}),
    ):
        for index, (az, block) in enumerate(zip(azs, cidrs)):
            stags, stags_all = ctx.tags(unit, Name=f"{name}-{kind}-{az}", **extra)
            subnet_id = ec2.create_subnet(
                VpcId=vpc_id,
                CidrBlock=block,
                AvailabilityZone=az,
                TagSpecifications=[{"ResourceType": "subnet", "Tags": _tag_list(stags_all)}],
            )["Subnet"]["SubnetId"]
            subnet_ids[kind].append(subnet_id)
            seeded.add(
                "aws_subnet",
                kind,
                {
                    "id": subnet_id,
                    "vpc_id": vpc_id,
                    "cidr_block": block,
                    "availability_zone": az,
                    "tags": stags,
                    "tags_all": stags_all,
                },
                index_key=index,
                module="module.vpc",
            )
            if kind == "private":
                rtags, rtags_all = ctx.tags(unit, Name=f"{name}-private-{az}")
                table = ec2.create_route_table(
                    VpcId=vpc_id, TagSpecifications=[{"ResourceType": "route-table", "Tags": _tag_list(rtags_all)}]
                )
                table_id = table["RouteTable"]["RouteTableId"]
                ec2.associate_route_table(RouteTableId=table_id, SubnetId=subnet_id)
                route_tables.append(table_id)
                seeded.add(
                    "aws_route_table",
                    "private",
                    {"id": table_id, "vpc_id": vpc_id, "tags": rtags, "tags_all": rtags_all},
                    index_key=index,
                    module="module.vpc",
                )

    # EFA needs all traffic to and from the group itself, egress included — and nothing else. The
    # module manages the rules as separate aws_vpc_security_group_*_rule resources.
    sg_tags, sg_tags_all = ctx.tags(unit, Name=f"{name}-efa", **{"karpenter.sh/discovery": name})
    group_id = _security_group(
        ec2, seeded, "efa", f"{name}-efa", "EFA: all traffic between members of this group only", vpc_id, sg_tags, sg_tags_all
    )
    for direction in ("ingress", "egress"):
        _security_group_rule(ec2, seeded, direction, "efa_self", group_id, "-1", referenced_group=group_id)
    node_tags, node_tags_all = ctx.tags(unit, Name=f"{name}-node-egress")
    node_group = _security_group(
        ec2, seeded, "node_egress", f"{name}-node-egress", "Cluster nodes: HTTPS out, anything within the VPC", vpc_id, node_tags, node_tags_all
    )
    _security_group_rule(ec2, seeded, "egress", "node_https", node_group, "tcp", ports=(443, 443), cidr="0.0.0.0/0")
    _security_group_rule(ec2, seeded, "egress", "node_vpc", node_group, "-1", cidr=cidr)

    etags, etags_all = ctx.tags(unit, Name=f"{name}-s3")
    endpoint_id = ec2.create_vpc_endpoint(
        VpcId=vpc_id,
        ServiceName=f"com.amazonaws.{unit.region}.s3",
        VpcEndpointType="Gateway",
        RouteTableIds=route_tables,
        TagSpecifications=[{"ResourceType": "vpc-endpoint", "Tags": _tag_list(etags_all)}],
    )["VpcEndpoint"]["VpcEndpointId"]
    seeded.add(
        "aws_vpc_endpoint",
        "s3",
        {"id": endpoint_id, "vpc_id": vpc_id, "vpc_endpoint_type": "Gateway", "tags": etags, "tags_all": etags_all},
    )
    seeded.notes.append(
        "EC2 placement groups are not emulated (moto answers HTTP 500): no placement group, no placement_group_name output"
    )

    seeded.output("vpc_id", vpc_id)
    seeded.output("vpc_cidr_block", cidr)
    seeded.output("azs", azs)
    seeded.output("private_subnet_ids", subnet_ids["private"])
    seeded.output("private_subnet_cidrs", private_cidrs)
    seeded.output("private_subnets_by_az", dict(zip(azs, subnet_ids["private"])))
    seeded.output("public_subnet_ids", subnet_ids["public"])
    seeded.output("public_subnet_cidrs", public_cidrs)
    seeded.output("private_route_table_ids", route_tables)
    seeded.output("efa_security_group_id", group_id)
    seeded.output("node_egress_security_group_id", node_group)
    seeded.output("s3_endpoint_id", endpoint_id)


def _security_group(
    ec2: Any, seeded: SeededUnit, name: str, group_name: str, description: str, vpc_id: str, tags: dict, tags_all: dict
) -> str:
    """An aws_security_group as Terraform creates it: without the allow-all egress AWS adds to a new
    group, and with empty inline rule lists in state (its rules are separate resources)."""
    group_id = ec2.create_security_group(
        GroupName=group_name,
        Description=description,
        VpcId=vpc_id,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": _tag_list(tags_all)}],
    )["GroupId"]
    ec2.revoke_security_group_egress(
        GroupId=group_id, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    )
    seeded.add(
        "aws_security_group",
        name,
        {"id": group_id, "name": group_name, "vpc_id": vpc_id, "ingress": [], "egress": [], "tags": tags, "tags_all": tags_all},
        schema_version=1,
    )
    return group_id


def _security_group_rule(
    ec2: Any,
    seeded: SeededUnit,
    direction: str,
    name: str,
    group_id: str,
    protocol: str,
    *,
    ports: tuple[int, int] | None = None,
    cidr: str | None = None,
    referenced_group: str | None = None,
    index_key: str | None = None,
) -> str:
    """One aws_vpc_security_group_<direction>_rule, recorded with the rule id the emulator gave it."""
    permission: dict[str, Any] = {"IpProtocol": protocol}
    if ports is not None:
        permission["FromPort"], permission["ToPort"] = ports
    if cidr:
        permission["IpRanges"] = [{"CidrIp": cidr}]
    if referenced_group:
        permission["UserIdGroupPairs"] = [{"GroupId": referenced_group}]
    authorize = ec2.authorize_security_group_ingress if direction == "ingress" else ec2.authorize_security_group_egress
    [rule] = authorize(GroupId=group_id, IpPermissions=[permission])["SecurityGroupRules"]
    seeded.add(
        f"aws_vpc_security_group_{direction}_rule",
        name,
        {
            "id": rule["SecurityGroupRuleId"],
            "security_group_rule_id": rule["SecurityGroupRuleId"],
            "security_group_id": group_id,
            "ip_protocol": protocol,
            "from_port": ports[0] if ports else None,
            "to_port": ports[1] if ports else None,
            "cidr_ipv4": cidr,
            "referenced_security_group_id": referenced_group,
        },
        index_key=index_key,
    )
    return rule["SecurityGroupRuleId"]


def _fallback_cidr(ctx: SeedContext, unit) -> str:
    # Only when the unit gives no vpc_cidr input: a distinct /16 per (account, region) of the estate.
    return f"10.{ctx.estate.regions.index((unit.account.key, unit.region))}.0.0/16"


# --- kms / iam / ecr ----------------------------------------------------------------------------


def seed_kms(ctx: SeedContext, seeded: SeededUnit) -> None:
    unit = seeded.unit
    kms = ctx.aws(unit, "kms")
    alias = ctx.input(unit, "alias_name", f"alias/ml-clusters-{unit.account.name}-{unit.region}")
    description = ctx.input(unit, "description", f"ml-clusters key for {unit.account.name}/{unit.region}")
    tags, tags_all = ctx.tags(unit)
    key = kms.create_key(Description=description, Tags=_tag_list(tags_all, "TagKey", "TagValue"))["KeyMetadata"]
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    seeded.add(
        "aws_kms_key",
        "this",
        {
            "id": key["KeyId"],
            "arn": key["Arn"],
            "key_id": key["KeyId"],
            "description": description,
            "is_enabled": True,
            "enable_key_rotation": True,
            "tags": tags,
            "tags_all": tags_all,
        },
    )
    seeded.add("aws_kms_alias", "this", {"id": alias, "name": alias, "target_key_id": key["KeyId"]})
    seeded.output("key_arn", key["Arn"])
    seeded.output("key_id", key["KeyId"])
    seeded.output("alias_name", alias)


def _trust(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


def _create_role(
    ctx: SeedContext, seeded: SeededUnit, address: str, name: str, service: str, path: str = "/"
) -> dict[str, Any]:
    iam = ctx.aws(seeded.unit, "iam")
    tags, tags_all = ctx.tags(seeded.unit)
    role = iam.create_role(
        RoleName=name, Path=path, AssumeRolePolicyDocument=_trust(service), Tags=_tag_list(tags_all)
    )["Role"]
    seeded.add(
        "aws_iam_role",
        address,
        {"id": name, "name": name, "arn": role["Arn"], "path": path, "tags": tags, "tags_all": tags_all},
        index_key=0,
    )
    return role


def seed_iam(ctx: SeedContext, seeded: SeededUnit) -> None:
    """The iam module: region-scoped roles named `<prefix>-<region>-...`; account-wide roles only where
    `create_account_roles` (IAM is global: one unit per account creates them)."""
    unit = seeded.unit
    iam = ctx.aws(unit, "iam")
    suffix = f"{ctx.input(unit, 'name_prefix', 'ml-clusters')}-{unit.region}"
    tags, tags_all = ctx.tags(unit)
    policy = iam.create_policy(
        PolicyName=f"{suffix}-data-access",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Sid": "Identity", "Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}
                ],
            }
        ),
        Tags=_tag_list(tags_all),
    )["Policy"]
    seeded.add(
        "aws_iam_policy",
        "data_access",
        {"id": policy["Arn"], "arn": policy["Arn"], "name": policy["PolicyName"], "tags": tags, "tags_all": tags_all},
    )
    seeded.output("data_access_policy_arn", policy["Arn"])

    if ctx.input(unit, "create_account_roles", False):
        execution = _create_role(
            ctx,
            seeded,
            "execution",
            ctx.input(unit, "execution_role_name", "TerraformExecutionRole"),
            "ec2.amazonaws.com",
        )
        observer = _create_role(
            ctx, seeded, "observer", ctx.input(unit, "observer_role_name", "ml-clusters-observer"), "ec2.amazonaws.com"
        )
        seeded.output("execution_role_arn", execution["Arn"])
        seeded.output("observer_role_arn", observer["Arn"])
    if ctx.input(unit, "create_parallelcluster_roles", False):
        for key, short in (("head_node", "head"), ("compute", "compute")):
            role = _create_role(
                ctx, seeded, f"pcluster_{key}", f"{suffix}-pcluster-{short}", "ec2.amazonaws.com", "/parallelcluster/"
            )
            profile = iam.create_instance_profile(InstanceProfileName=role["RoleName"], Path="/parallelcluster/")[
                "InstanceProfile"
            ]
            iam.add_role_to_instance_profile(InstanceProfileName=role["RoleName"], RoleName=role["RoleName"])
            seeded.add(
                "aws_iam_instance_profile",
                f"pcluster_{key}",
                {"id": role["RoleName"], "arn": profile["Arn"], "role": role["RoleName"]},
                index_key=0,
            )
            seeded.output(f"pcluster_{key}_role_arn", role["Arn"])
            seeded.output(f"pcluster_{key}_instance_profile_arn", profile["Arn"])
    if ctx.input(unit, "create_hyperpod_role", False):
        role = _create_role(ctx, seeded, "hyperpod", f"{suffix}-hyperpod-instance", "sagemaker.amazonaws.com")
        seeded.output("hyperpod_instance_role_arn", role["Arn"])
        seeded.output("hyperpod_instance_role_name", role["RoleName"])


def seed_ecr(ctx: SeedContext, seeded: SeededUnit) -> None:
    unit = seeded.unit
    ecr = ctx.aws(unit, "ecr")
    names = ctx.input(unit, "repository_names", ["ml-training"])
    urls = {}
    for name in names:
        tags, tags_all = ctx.tags(unit)
        repo = ecr.create_repository(
            repositoryName=name,
            imageTagMutability="IMMUTABLE",
            imageScanningConfiguration={"scanOnPush": True},
            tags=_tag_list(tags_all),
        )["repository"]
        urls[name] = repo["repositoryUri"]
        seeded.add(
            "aws_ecr_repository",
            "this",
            {
                "id": name,
                "name": name,
                "arn": repo["repositoryArn"],
                "repository_url": repo["repositoryUri"],
                "image_tag_mutability": "IMMUTABLE",
                "tags": tags,
                "tags_all": tags_all,
            },
            index_key=name,
        )
    seeded.output("repository_urls", urls)


# --- S3 -------------------------------------------------------------------------------------------


def _bucket(
    ctx: SeedContext, seeded: SeededUnit, address: str, name: str, kms_key_arn: str | None, **resource_tags: str
) -> str:
    """A versioned, SSE-KMS bucket recorded as aws_s3_bucket.<address> (+ versioning)."""
    unit = seeded.unit
    s3 = ctx.aws(unit, "s3")
    ensure_bucket(s3, name, unit.region, versioned=True)
    tags, tags_all = ctx.tags(unit, **resource_tags)
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": _tag_list(tags_all)})
    if kms_key_arn:
        s3.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {
                        "ApplyServerSideEncryptionByDefault": {
                            "SSEAlgorithm": "aws:kms",
                            "KMSMasterKeyID": kms_key_arn,
                        },
                        "BucketKeyEnabled": True,
                    }
                ]
            },
        )
    block = {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=block)
    arn = f"arn:aws:s3:::{name}"
    seeded.add(
        "aws_s3_bucket",
        address,
        {"id": name, "bucket": name, "arn": arn, "region": unit.region, "tags": tags, "tags_all": tags_all},
    )
    seeded.add(
        "aws_s3_bucket_versioning",
        address,
        {"id": name, "bucket": name, "versioning_configuration": [{"status": "Enabled", "mfa_delete": ""}]},
    )
    seeded.add(
        "aws_s3_bucket_public_access_block",
        address,
        {
            "id": name,
            "bucket": name,
            "block_public_acls": True,
            "block_public_policy": True,
            "ignore_public_acls": True,
            "restrict_public_buckets": True,
        },
    )
    return arn


def seed_tfstate(ctx: SeedContext, seeded: SeededUnit) -> None:
    """The state bucket already exists (every state file is written into it); record it with its key and logs."""
    unit = seeded.unit
    name = ctx.input(unit, "bucket_name") or unit.remote_state.bucket
    kms = ctx.aws(unit, "kms")
    tags, tags_all = ctx.tags(unit)
    key = kms.create_key(Description=f"Terraform state ({name})", Tags=_tag_list(tags_all, "TagKey", "TagValue"))[
        "KeyMetadata"
    ]
    seeded.add(
        "aws_kms_key",
        "state",
        {
            "id": key["KeyId"],
            "arn": key["Arn"],
            "key_id": key["KeyId"],
            "is_enabled": True,
            "tags": tags,
            "tags_all": tags_all,
        },
    )
    seeded.output("bucket_name", name)
    seeded.output("bucket_arn", _bucket(ctx, seeded, "state", name, key["Arn"]))
    seeded.output("kms_key_arn", key["Arn"])
    seeded.output("access_log_bucket_name", f"{name}-logs")
    _bucket(ctx, seeded, "logs", f"{name}-logs", None)


def seed_data_bucket(ctx: SeedContext, seeded: SeededUnit) -> None:
    """The s3-data-bucket module: the data bucket (central or replica), its access-log bucket, and for a
    replica the policy admitting the hub's replication role."""
    unit = seeded.unit
    name = ctx.input(unit, "bucket_name", f"ml-clusters-data-{unit.account.id}-{unit.region}")
    role = str(ctx.input(unit, "bucket_role", "replica"))
    kms_key_arn = ctx.input(unit, "kms_key_arn")
    arn = _bucket(ctx, seeded, "data", name, kms_key_arn, **{"ml-clusters:bucket-role": role})
    _bucket(ctx, seeded, "logs", f"{name}-logs", None)
    source_role = ctx.input(unit, "replication_source_role_arn")
    if role == "replica" and source_role:
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AllowHubReplication",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{source_role.split(':')[4]}:root"},
                    "Action": [
                        "s3:ReplicateObject",
                        "s3:ReplicateDelete",
                        "s3:ReplicateTags",
                        "s3:ObjectOwnerOverrideToBucketOwner",
                    ],
                    "Resource": f"{arn}/*",
                    "Condition": {"ArnEquals": {"aws:PrincipalArn": source_role}},
                }
            ],
        }
        ctx.aws(unit, "s3").put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
        seeded.add("aws_s3_bucket_policy", "data", {"id": name, "bucket": name, "policy": json.dumps(policy)})
    seeded.output("bucket_name", name)
    seeded.output("bucket_arn", arn)
    seeded.output("bucket_region", unit.region)
    seeded.output("bucket_regional_domain_name", f"{name}.s3.{unit.region}.amazonaws.com")
    seeded.output("account_id", unit.account.id)
    seeded.output("kms_key_arn", kms_key_arn)
    seeded.output("bucket_role", role)
    seeded.output("replication_source_bucket_arn", ctx.input(unit, "replication_source_bucket_arn"))
    seeded.output("access_log_bucket_name", f"{name}-logs")


def seed_replication(ctx: SeedContext, seeded: SeededUnit) -> None:
    """The s3-replication module: one rule per (destination, prefix) on the central bucket, RTC + metrics,
    ownership to the destination account for cross-account rules, replicas re-encrypted with their key."""
    unit = seeded.unit
    source = ctx.input(unit, "source_bucket_name")
    destinations = [d for d in ctx.input(unit, "destinations", []) or [] if isinstance(d, dict) and d.get("bucket_arn")]
    if not source or not destinations:
        seeded.notes.append("no resolvable source bucket / destinations: no replication configured")
        return
    rtc_minutes = int(ctx.input(unit, "replication_time_minutes", 15))
    prefix_rules = ctx.input(unit, "prefix_rules") or [{"prefix": "", "storage_class": "STANDARD"}]
    role = _create_role(
        ctx, seeded, "replication", ctx.input(unit, "role_name", "ml-clusters-s3-replication"), "s3.amazonaws.com"
    )
    seeded.state.resources[-1].index_key = None  # not counted in the module

    rules, rule_outputs = [], []
    for d_index, destination in enumerate(destinations):
        account_id = destination.get("account_id") or unit.account.id
        region = destination.get("region") or unit.region
        for p_index, prefix_rule in enumerate(prefix_rules):
            prefix = prefix_rule.get("prefix", "")
            rule_id = f"{destination.get('name')}-{prefix.removesuffix('/')}"
            priority = d_index * len(prefix_rules) + p_index + 1
            bucket_name = destination["bucket_arn"].split(":::", 1)[-1]
            cross_account = account_id != unit.account.id
            rule: dict[str, Any] = {
                "ID": rule_id,
                "Priority": priority,
                "Status": "Enabled",
                "Filter": {"Prefix": prefix},
                "DeleteMarkerReplication": {"Status": "Enabled"},
                "Destination": {
                    "Bucket": destination["bucket_arn"],
                    "StorageClass": prefix_rule.get("storage_class", "STANDARD"),
                    "ReplicationTime": {"Status": "Enabled", "Time": {"Minutes": rtc_minutes}},
                    "Metrics": {"Status": "Enabled", "EventThreshold": {"Minutes": rtc_minutes}},
                },
            }
            if cross_account:
                rule["Destination"]["Account"] = account_id
                rule["Destination"]["AccessControlTranslation"] = {"Owner": "Destination"}
            if destination.get("kms_key_arn"):
                rule["SourceSelectionCriteria"] = {"SseKmsEncryptedObjects": {"Status": "Enabled"}}
                rule["Destination"]["EncryptionConfiguration"] = {"ReplicaKmsKeyID": destination["kms_key_arn"]}
            rules.append(rule)
            rule_outputs.append(
                {
                    "rule_id": rule_id,
                    "priority": priority,
                    "prefix": prefix,
                    "storage_class": prefix_rule.get("storage_class", "STANDARD"),
                    "destination_bucket_name": bucket_name,
                    "destination_bucket_arn": destination["bucket_arn"],
                    "destination_account_id": account_id,
                    "destination_region": region,
                    "cross_account": cross_account,
                }
            )
    ctx.aws(unit, "s3").put_bucket_replication(
        Bucket=source, ReplicationConfiguration={"Role": role["Arn"], "Rules": rules}
    )
    seeded.add(
        "aws_s3_bucket_replication_configuration",
        "this",
        {
            "id": source,
            "bucket": source,
            "role": role["Arn"],
            "rule": [
                {
                    "id": r["ID"],
                    "priority": r["Priority"],
                    "status": r["Status"],
                    "filter": [{"prefix": r["Filter"]["Prefix"]}],
                    "destination": [
                        {
                            "bucket": r["Destination"]["Bucket"],
                            "storage_class": r["Destination"]["StorageClass"],
                            "account": r["Destination"].get("Account", ""),
                        }
                    ],
                }
                for r in rules
            ],
        },
    )
    seeded.output("replication_role_arn", role["Arn"])
    seeded.output("source_bucket_name", source)
    seeded.output("rule_ids", [r["ID"] for r in rules])
    seeded.output("rules", rule_outputs)


# --- storage --------------------------------------------------------------------------------------


def seed_shared_storage(ctx: SeedContext, seeded: SeededUnit) -> None:
    unit = seeded.unit
    name = ctx.input(unit, "name", f"ml-{unit.account.name}-{unit.region}")
    subnets = [s for s in ctx.input(unit, "efs_subnet_ids", []) if s]
    groups = [g for g in ctx.input(unit, "client_security_group_ids", []) if g]
    vpc_id, vpc_cidr = ctx.input(unit, "vpc_id"), ctx.input(unit, "vpc_cidr_block")
    if vpc_id and vpc_cidr:
        # The module's two groups and their separately managed rules (shared-storage/main.tf).
        ec2 = ctx.aws(unit, "ec2")
        fsx_tags, fsx_tags_all = ctx.tags(unit, Name=f"{name}-fsx-lustre")
        fsx_group = _security_group(ec2, seeded, "fsx", f"{name}-fsx-lustre", "FSx for Lustre servers and clients", vpc_id, fsx_tags, fsx_tags_all)
        for port_name, ports in {"lnet": (988, 988), "rpc": (1018, 1023)}.items():
            _security_group_rule(ec2, seeded, "ingress", "fsx_self", fsx_group, "tcp", ports=ports, referenced_group=fsx_group, index_key=port_name)
            _security_group_rule(ec2, seeded, "ingress", "fsx_vpc", fsx_group, "tcp", ports=ports, cidr=vpc_cidr, index_key=port_name)
            _security_group_rule(ec2, seeded, "egress", "fsx_vpc", fsx_group, "tcp", ports=ports, cidr=vpc_cidr, index_key=port_name)
        efs_tags, efs_tags_all = ctx.tags(unit, Name=f"{name}-efs")
        efs_group = _security_group(ec2, seeded, "efs", f"{name}-efs", "EFS mount targets", vpc_id, efs_tags, efs_tags_all)
        _security_group_rule(ec2, seeded, "ingress", "efs_vpc", efs_group, "tcp", ports=(2049, 2049), cidr=vpc_cidr)
        for client_group in groups:
            _security_group_rule(
                ec2, seeded, "ingress", "efs_clients", efs_group, "tcp", ports=(2049, 2049), referenced_group=client_group, index_key=client_group
            )
    efs = ctx.aws(unit, "efs")
    tags, tags_all = ctx.tags(unit, Name=f"{name}-efs")
    fs = efs.create_file_system(
        CreationToken=f"{name}-efs", Encrypted=True, ThroughputMode="elastic", Tags=_tag_list(tags_all)
    )
    for subnet in subnets:
        efs.create_mount_target(FileSystemId=fs["FileSystemId"], SubnetId=subnet, SecurityGroups=groups)
    access_points = {}
    for ap in ctx.input(unit, "efs_access_points", []) or []:
        point = efs.create_access_point(
            FileSystemId=fs["FileSystemId"],
            PosixUser={"Uid": int(ap.get("uid", 1000)), "Gid": int(ap.get("gid", 1000))},
            RootDirectory={"Path": ap.get("path", "/")},
            Tags=_tag_list({**tags_all, "Name": f"{name}-{ap.get('name')}"}),
        )
        access_points[str(ap.get("name"))] = point["AccessPointId"]
    seeded.add(
        "aws_efs_file_system",
        "this",
        {
            "id": fs["FileSystemId"],
            "arn": fs["FileSystemArn"],
            "creation_token": f"{name}-efs",
            "encrypted": True,
            "tags": tags,
            "tags_all": tags_all,
        },
    )
    seeded.output("efs_id", fs["FileSystemId"])
    seeded.output("efs_access_point_ids", access_points)

    fsx_subnet = ctx.input(unit, "fsx_subnet_id") or (subnets[0] if subnets else None)
    if fsx_subnet:
        fsx = ctx.aws(unit, "fsx")
        ftags, ftags_all = ctx.tags(unit, Name=f"{name}-lustre")
        lustre = fsx.create_file_system(
            FileSystemType="LUSTRE",
            StorageCapacity=int(ctx.input(unit, "fsx_storage_capacity_gib", 1200)),
            SubnetIds=[fsx_subnet],
            SecurityGroupIds=groups,
            Tags=_tag_list(ftags_all),
            LustreConfiguration={
                "DeploymentType": "PERSISTENT_2",
                "PerUnitStorageThroughput": int(ctx.input(unit, "fsx_throughput_per_unit_storage", 250)),
            },
        )["FileSystem"]
        seeded.add(
            "aws_fsx_lustre_file_system",
            "this",
            {
                "id": lustre["FileSystemId"],
                "storage_capacity": lustre.get("StorageCapacity"),
                "per_unit_storage_throughput": (lustre.get("LustreConfiguration") or {}).get(
                    "PerUnitStorageThroughput"
                ),
                "deployment_type": "PERSISTENT_2",
                "tags": ftags,
                "tags_all": ftags_all,
            },
        )
        seeded.output("fsx_id", lustre["FileSystemId"])
        seeded.output(
            "fsx_dns_name", lustre.get("DNSName") or f"{lustre['FileSystemId']}.fsx.{unit.region}.amazonaws.com"
        )
        seeded.output("fsx_mount_name", (lustre.get("LustreConfiguration") or {}).get("MountName", "fsx"))
        seeded.notes.append("FSx data repository association not created: the emulator does not implement it")


# --- clusters -------------------------------------------------------------------------------------


def _role_arn(ctx: SeedContext, seeded: SeededUnit, output: str) -> str | None:
    iam = ctx.related(seeded.unit, "iam", same_region=False)
    return iam.outputs.get(output) if iam else None


def _network(ctx: SeedContext, seeded: SeededUnit) -> tuple[list[str], list[str]]:
    net = ctx.related(seeded.unit, "networking")
    if net is None:
        return [], []
    return list(net.outputs.get("private_subnet_ids", [])), [net.outputs["efa_security_group_id"]]


def _node_groups(ctx: SeedContext, unit) -> dict[str, dict[str, Any]]:
    """A small system group for cluster add-ons, plus the unit's `gpu_node_group`."""
    groups: dict[str, dict[str, Any]] = {
        "system": {"instance_types": ["m6i.xlarge"], "min_size": 2, "max_size": 3, "desired_size": 2}
    }
    gpu = ctx.input(unit, "gpu_node_group")
    if isinstance(gpu, dict):
        groups["gpu"] = gpu
    return groups


def seed_eks(ctx: SeedContext, seeded: SeededUnit) -> None:
    """terraform-aws-eks as `module.eks`: the cluster, its IAM roles, managed node groups, Karpenter's queue."""
    unit = seeded.unit
    eks = ctx.aws(unit, "eks")
    name = ctx.input(unit, "cluster_name", f"ml-{unit.account.name}-{unit.component}")
    version = str(ctx.input(unit, "kubernetes_version", "1.33"))
    default_subnets, default_groups = _network(ctx, seeded)
    subnets = [s for s in (ctx.input(unit, "subnet_ids") or default_subnets) if s]
    efa_group = ctx.input(unit, "efa_security_group_id")
    tags, tags_all = ctx.tags(unit)

    cluster_role = _create_role(ctx, seeded, "this", f"{name}-cluster", "eks.amazonaws.com")
    seeded.state.resources[-1].module = "module.eks"
    cluster = eks.create_cluster(
        name=name,
        version=version,
        roleArn=cluster_role["Arn"],
        resourcesVpcConfig={"subnetIds": subnets, "securityGroupIds": [efa_group] if efa_group else default_groups},
        tags=tags_all,
    )["cluster"]
    seeded.add(
        "aws_eks_cluster",
        "this",
        {"id": name, "name": name, "arn": cluster["arn"], "version": version, "tags": tags, "tags_all": tags_all},
        index_key=0,
        module="module.eks",
    )

    node_role = _create_role(ctx, seeded, "eks_managed_node_group", f"{name}-node", "ec2.amazonaws.com")
    seeded.state.resources[-1].module = "module.eks"
    names = []
    for group_name, spec in _node_groups(ctx, unit).items():
        ntags, ntags_all = ctx.tags(unit, Name=f"{name}-{group_name}")
        minimum = int(spec.get("min_size", 0))
        group = eks.create_nodegroup(
            clusterName=name,
            nodegroupName=group_name,
            nodeRole=node_role["Arn"],
            subnets=subnets,
            instanceTypes=list(spec.get("instance_types", ["m6i.xlarge"])),
            amiType=str(spec.get("ami_type", "AL2023_x86_64_STANDARD")),
            scalingConfig={
                "minSize": minimum,
                "maxSize": int(spec.get("max_size", max(minimum, 1))),
                "desiredSize": int(spec.get("desired_size", minimum)),
            },
            capacityType="ON_DEMAND",
            labels={"ml-clusters/node-group": group_name},
            tags=ntags_all,
        )["nodegroup"]
        names.append(group_name)
        seeded.add(
            "aws_eks_node_group",
            "this",
            {
                "id": f"{name}:{group_name}",
                "arn": group["nodegroupArn"],
                "cluster_name": name,
                "node_group_name": group_name,
                "instance_types": group["instanceTypes"],
                "status": "ACTIVE",
                "tags": ntags,
                "tags_all": ntags_all,
            },
            index_key=0,
            module=f'module.eks.module.eks_managed_node_group["{group_name}"]',
        )

    queue_name = f"Karpenter-{name}"
    queue_url = ctx.aws(unit, "sqs").create_queue(QueueName=queue_name, tags=tags_all)["QueueUrl"]
    seeded.add(
        "aws_sqs_queue",
        "this",
        {"id": queue_url, "name": queue_name, "tags": tags, "tags_all": tags_all},
        index_key=0,
        module="module.karpenter",
    )
    karpenter_role = _create_role(ctx, seeded, "node", f"KarpenterNodeRole-{name}", "ec2.amazonaws.com")
    seeded.state.resources[-1].module = "module.karpenter"

    seeded.output("cluster_name", name)
    seeded.output("cluster_arn", cluster["arn"])
    seeded.output("cluster_version", version)
    seeded.output("cluster_endpoint", cluster.get("endpoint", ""))
    seeded.output("cluster_certificate_authority_data", (cluster.get("certificateAuthority") or {}).get("data", ""))
    seeded.output("node_group_names", names)
    seeded.output("karpenter_queue_name", queue_name)
    seeded.output("karpenter_node_iam_role_name", karpenter_role["RoleName"])
    seeded.notes.append("EKS add-ons, access entries and pod identity are not emulated: not created")


def seed_hyperpod(ctx: SeedContext, seeded: SeededUnit) -> None:
    """A SageMaker HyperPod cluster with its lifecycle scripts in a `sagemaker-*` bucket (HyperPod reads
    lifecycle scripts only from buckets so named)."""
    unit = seeded.unit
    name = ctx.input(unit, "cluster_name", f"ml-{unit.account.name}-{unit.component}")
    bucket = ctx.input(unit, "lifecycle_bucket_name", f"sagemaker-ml-lifecycle-{unit.account.id}-{unit.region}")
    _bucket(ctx, seeded, "lifecycle", bucket, ctx.input(unit, "kms_key_arn"))
    s3 = ctx.aws(unit, "s3")
    scripts_dir = Path(str(ctx.input(unit, "lifecycle_scripts_dir", "")))
    scripts = sorted(p for p in scripts_dir.rglob("*") if p.is_file()) if scripts_dir.is_dir() else []
    for script in scripts:
        s3.put_object(
            Bucket=bucket, Key=f"{name}/{script.relative_to(scripts_dir).as_posix()}", Body=script.read_bytes()
        )
    if not scripts:
        seeded.notes.append(f"no lifecycle scripts at {scripts_dir}: uploaded none")
    on_create = next((p.name for p in scripts if p.name.startswith("on_create")), "on_create.sh")

    default_subnets, default_groups = _network(ctx, seeded)
    subnets = [s for s in (ctx.input(unit, "subnet_ids") or default_subnets[:1]) if s]
    security_groups = [g for g in (ctx.input(unit, "security_group_ids") or default_groups) if g]
    execution_role = ctx.input(unit, "instance_role_arn") or _role_arn(ctx, seeded, "hyperpod_instance_role_arn")
    if not execution_role:
        execution_role = _create_role(ctx, seeded, "hyperpod", f"{name}-instance", "sagemaker.amazonaws.com")["Arn"]
    groups = ctx.input(unit, "instance_groups") or [
        {"name": "controller", "instance_type": "ml.m5.2xlarge", "instance_count": 1},
        {"name": "gpu-workers", "instance_type": "ml.p5.48xlarge", "instance_count": 2},
    ]
    instance_groups = [
        {
            "InstanceGroupName": str(g["name"]),
            "InstanceType": str(g["instance_type"]),
            "InstanceCount": int(g.get("instance_count", 1)),
            "LifeCycleConfig": {"SourceS3Uri": f"s3://{bucket}/{name}/", "OnCreate": on_create},
            "ExecutionRole": execution_role,
            "ThreadsPerCore": int(g.get("threads_per_core", 1)),
        }
        for g in groups
    ]
    tags, tags_all = ctx.tags(unit)
    arn = ctx.aws(unit, "sagemaker").create_cluster(
        ClusterName=name,
        InstanceGroups=instance_groups,
        VpcConfig={"SecurityGroupIds": security_groups, "Subnets": subnets},
        Tags=_tag_list(tags_all),
    )["ClusterArn"]
    seeded.add(
        "awscc_sagemaker_cluster",
        "this",
        {
            "id": arn,
            "cluster_arn": arn,
            "cluster_name": name,
            "cluster_status": "InService",
            "tags": tags,
            "tags_all": tags_all,
        },
    )
    seeded.output("cluster_name", name)
    seeded.output("cluster_arn", arn)
    seeded.output("lifecycle_scripts_uri", f"s3://{bucket}/{name}/")
    seeded.output("instance_group_names", [g["InstanceGroupName"] for g in instance_groups])


def seed_parallelcluster(ctx: SeedContext, seeded: SeededUnit) -> None:
    """A ParallelCluster cluster is a CloudFormation stack named after it; the emulator holds the stack,
    not the pcluster API (DescribeCluster), which says so in the health sensor."""
    unit = seeded.unit
    name = ctx.input(unit, "cluster_name", f"ml-{unit.account.name}-{unit.component}")
    net = ctx.related(unit, "networking")
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"AWS ParallelCluster {name} (sandbox: head node security group only)",
        "Resources": {
            "HeadNodeSecurityGroup": {
                "Type": "AWS::EC2::SecurityGroup",
                "Properties": {"GroupDescription": f"{name} head node", "VpcId": net.outputs["vpc_id"] if net else ""},
            }
        },
    }
    tags, tags_all = ctx.tags(unit)
    stack_tags = {
        **tags_all,
        "parallelcluster:cluster-name": name,
        "parallelcluster:version": str(ctx.input(unit, "pcluster_version", "3.14.0")),
    }
    stack_id = ctx.aws(unit, "cloudformation").create_stack(
        StackName=name, TemplateBody=json.dumps(template), Tags=_tag_list(stack_tags)
    )["StackId"]
    seeded.add(
        "aws_cloudformation_stack", "cluster", {"id": stack_id, "name": name, "tags": tags, "tags_all": tags_all}
    )
    seeded.output("cluster_name", name)
    seeded.output("stack_id", stack_id)
    seeded.notes.append(
        "ParallelCluster API (DescribeCluster) is not emulated: the cluster exists as its CloudFormation stack"
    )


def seed_monitoring(ctx: SeedContext, seeded: SeededUnit) -> None:
    unit = seeded.unit
    name = ctx.input(unit, "name", f"ml-clusters-{unit.account.name}-{unit.region}")
    tags, tags_all = ctx.tags(unit)
    topic = ctx.aws(unit, "sns").create_topic(Name=f"{name}-alerts", Tags=_tag_list(tags_all))["TopicArn"]
    ctx.aws(unit, "cloudwatch").put_dashboard(DashboardName=name, DashboardBody=json.dumps({"widgets": []}))
    seeded.add(
        "aws_sns_topic",
        "alerts",
        {"id": topic, "arn": topic, "name": f"{name}-alerts", "tags": tags, "tags_all": tags_all},
    )
    seeded.add("aws_cloudwatch_dashboard", "this", {"id": name, "dashboard_name": name})
    seeded.output("alerts_topic_arn", topic)
    seeded.output("dashboard_name", name)


def _not_emulated(reason: str) -> Seeder:
    def seeder(ctx: SeedContext, seeded: SeededUnit) -> None:
        seeded.notes.append(reason)

    return seeder


SEEDERS: dict[str, Seeder] = {
    "networking": seed_networking,
    "kms": seed_kms,
    "iam": seed_iam,
    "ecr": seed_ecr,
    "tfstate": seed_tfstate,
    "s3-data-bucket": seed_data_bucket,
    "s3-replication": seed_replication,
    "shared-storage": seed_shared_storage,
    "eks-cluster": seed_eks,
    "hyperpod": seed_hyperpod,
    "parallelcluster": seed_parallelcluster,
    "monitoring": seed_monitoring,
    "capacity-block": _not_emulated(
        "EC2 Capacity Blocks are not emulated (moto answers every capacity-reservation call with HTTP 500): "
        "nothing seeded; the capacity sensor reports this slice as skipped"
    ),
    "pcluster-api": _not_emulated(
        "the ParallelCluster API is API Gateway + a Lambda container image, which the emulator cannot run: nothing seeded"
    ),
    "argocd-bootstrap": _not_emulated(
        "Kubernetes objects (Argo CD Helm release, app-of-apps) are not AWS resources: state file only"
    ),
}
