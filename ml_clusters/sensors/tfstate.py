"""Terraform state (format version 4) and the curated attributes the fast drift probe compares.

The probe is a *suspicion* detector, not a plan: it compares a few attributes that matter (and that
people change by hand) with the live API, for these resource types:

| type | attributes | live API |
|---|---|---|
| aws_vpc | cidr_block, tags | ec2 describe_vpcs (one call per region, filtered by id) |
| aws_security_group | existence; ingress, egress rules (only when no separate rule resource targets the group) | ec2 describe_security_groups (one call per region) |
| aws_vpc_security_group_ingress_rule / _egress_rule | protocol, ports, cidr, prefix list, referenced group (by rule id) | ec2 describe_security_group_rules (one call per region) |
| aws_s3_bucket | tags | s3 get_bucket_tagging |
| aws_s3_bucket_versioning | status | s3 get_bucket_versioning |
| aws_s3_bucket_public_access_block | the four block/ignore/restrict flags | s3 get_public_access_block |
| aws_s3_bucket_replication_configuration | rule ids, status, destination | s3 get_bucket_replication |
| aws_eks_cluster | version | eks describe_cluster |
| aws_fsx_lustre_file_system | per_unit_storage_throughput, storage_capacity | fsx describe_file_systems (one call per region) |
| aws_kms_key | is_enabled (and pending deletion) | kms describe_key |

A resource that no longer exists is drift too. Values marked sensitive in the state are never shown.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from ml_clusters.sensors.mapping import tag_dict

SUPPORTED_STATE_VERSION = 4
MISSING = object()  # the live API says the resource does not exist
HIDDEN = "(sensitive)"


class StateFormatError(ValueError):
    pass


@dataclass(frozen=True)
class StateResource:
    address: str
    type: str
    provider_alias: str | None  # `provider["registry.terraform.io/hashicorp/aws"].replica` → "replica"
    attributes: Mapping[str, Any]
    sensitive: frozenset[str] = frozenset()  # top-level attribute names marked sensitive


@dataclass(frozen=True)
class TerraformState:
    serial: int
    lineage: str
    terraform_version: str
    resources: tuple[StateResource, ...]


def parse_state(raw: bytes | str, where: str = "state") -> TerraformState:
    """Parse a state file. Any problem with its shape is a StateFormatError naming `where` and the cause:
    a state file is input we do not control (hand edits, a partial upload, another tool's format)."""
    try:
        data = json.loads(raw)
    except (ValueError, TypeError) as error:
        raise StateFormatError(f"{where}: not JSON ({error})") from None
    if not isinstance(data, dict):
        raise StateFormatError(f"{where}: not a Terraform state object (top level is {type(data).__name__})")
    version = data.get("version")
    if version != SUPPORTED_STATE_VERSION:
        raise StateFormatError(
            f"{where}: state format version {version!r} is not supported (expected {SUPPORTED_STATE_VERSION})"
        )
    try:
        return _parse_v4(data)
    except _ShapeError as error:
        raise StateFormatError(f"{where}: {error}") from None


class _ShapeError(Exception):
    pass


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


def _expect(value: Any, kind: type | tuple[type, ...], what: str) -> Any:
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise _ShapeError(f"{what} is {type(value).__name__}, expected {names}")
    return value


def _parse_v4(data: dict[str, Any]) -> TerraformState:
    serial = data.get("serial", 0)
    if serial is None:
        serial = 0
    if isinstance(serial, bool) or not isinstance(serial, int):
        raise _ShapeError(f"serial {serial!r} is not an integer")
    resources = []
    blocks = _expect(_or(data.get("resources"), []), list, '"resources"')
    for position, block in enumerate(blocks):
        block = _expect(block, dict, f"resources[{position}]")
        if block.get("mode") != "managed":
            continue
        type_, name = block.get("type"), block.get("name")
        if not isinstance(type_, str) or not type_ or not isinstance(name, str) or not name:
            raise _ShapeError(f"resources[{position}] has no type/name")
        provider = str(block.get("provider", ""))
        alias = provider.rsplit("].", 1)[1] if "]." in provider else None
        module = block.get("module")
        prefix = f"{module}." if isinstance(module, str) and module else ""
        instances = _expect(_or(block.get("instances"), []), list, f"{prefix}{type_}.{name} instances")
        for instance in instances:
            instance = _expect(instance, dict, f"{prefix}{type_}.{name} instance")
            index = instance.get("index_key")
            suffix = "" if index is None else (f"[{index}]" if isinstance(index, int) else f'["{index}"]')
            address = f"{prefix}{type_}.{name}{suffix}"
            attributes = _expect(_or(instance.get("attributes"), {}), dict, f"{address} attributes")
            sensitive = _expect(_or(instance.get("sensitive_attributes"), []), list, f"{address} sensitive_attributes")
            resources.append(
                StateResource(
                    address=address,
                    type=type_,
                    provider_alias=alias,
                    attributes=attributes,
                    sensitive=frozenset(_sensitive_names(sensitive)),
                )
            )
    return TerraformState(
        serial=serial,
        lineage=str(data.get("lineage", "")),
        terraform_version=str(data.get("terraform_version", "")),
        resources=tuple(resources),
    )


def _sensitive_names(paths: Iterable[Any]) -> Iterable[str]:
    for path in paths:
        steps = path if isinstance(path, list) else [path]
        first = steps[0] if steps else None
        if isinstance(first, dict) and first.get("type") == "get_attr":
            yield str(first.get("value"))


@dataclass(frozen=True)
class Difference:
    address: str
    attribute: str
    recorded: str
    live: str


@dataclass
class Kind:
    """How to compare one resource type: its service, id, live fetcher and comparator."""

    service: str
    identity: Callable[[Mapping[str, Any]], str | None]
    fetch: Callable[[Any, list[str]], dict[str, Any]]  # client, ids → id → live view (MISSING if gone)
    compare: Callable[[Mapping[str, Any], Any], list[tuple[str, Any, Any]]]  # (attribute, recorded, live)


def _tags_recorded(attrs: Mapping[str, Any]) -> dict[str, str]:
    # tags_all includes the provider's default_tags (e.g. ml-clusters:unit), which live tags also carry.
    return {k: str(v) for k, v in (attrs.get("tags_all") or attrs.get("tags") or {}).items()}


def _compare_tags(recorded: Mapping[str, str], live: Mapping[str, str]) -> list[tuple[str, Any, Any]]:
    diffs = []
    for key in sorted(set(recorded) | set(live)):
        if key.startswith("aws:"):
            continue  # AWS-reserved tags are not Terraform's
        if recorded.get(key) != live.get(key):
            diffs.append((f"tags.{key}", recorded.get(key, "(absent)"), live.get(key, "(absent)")))
    return diffs


# EC2 accepts at most 200 values per filter in one call.
EC2_FILTER_VALUES_MAX = 200


def _filtered_describe(paginated_op: str, id_filter: str, result_key: str, id_key: str) -> Callable[[Any, list[str]], dict[str, Any]]:
    def fetch(client: Any, ids: list[str]) -> dict[str, Any]:
        found = {i: MISSING for i in ids}
        # A filter (unlike an id list) does not fail when one of the ids is gone.
        for start in range(0, len(ids), EC2_FILTER_VALUES_MAX):
            batch = ids[start : start + EC2_FILTER_VALUES_MAX]
            for page in client.get_paginator(paginated_op).paginate(Filters=[{"Name": id_filter, "Values": batch}]):
                for item in page.get(result_key, []):
                    found[item[id_key]] = item
        return found

    return fetch


def _per_id(call: Callable[[Any, str], Any], gone_codes: set[str]) -> Callable[[Any, list[str]], dict[str, Any]]:
    def fetch(client: Any, ids: list[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for resource_id in ids:
            try:
                found[resource_id] = call(client, resource_id)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") in gone_codes:
                    found[resource_id] = MISSING
                else:
                    raise
        return found

    return fetch


# --- aws_vpc ---------------------------------------------------------------------------------------------


def _vpc_compare(attrs: Mapping[str, Any], live: Any) -> list[tuple[str, Any, Any]]:
    diffs = []
    if attrs.get("cidr_block") != live.get("CidrBlock"):
        diffs.append(("cidr_block", attrs.get("cidr_block"), live.get("CidrBlock")))
    return diffs + _compare_tags(_tags_recorded(attrs), tag_dict(live.get("Tags")))


# --- aws_security_group ---------------------------------------------------------------------------------

_PROTOCOLS = {"6": "tcp", "17": "udp", "1": "icmp", "all": "-1"}


def _rules_recorded(rules: Iterable[Mapping[str, Any]]) -> set[tuple]:
    normalized = set()
    for rule in rules or []:
        protocol = _PROTOCOLS.get(str(rule.get("protocol")), str(rule.get("protocol")))
        ports = (0, 0) if protocol == "-1" else (int(rule.get("from_port") or 0), int(rule.get("to_port") or 0))
        sources = [f"cidr:{c}" for c in rule.get("cidr_blocks") or []]
        sources += [f"cidr6:{c}" for c in rule.get("ipv6_cidr_blocks") or []]
        sources += [f"pl:{p}" for p in rule.get("prefix_list_ids") or []]
        sources += [f"sg:{g}" for g in rule.get("security_groups") or []]
        if rule.get("self"):
            sources.append("self")
        normalized.update((protocol, *ports, source) for source in sources)
    return normalized


def _rules_live(permissions: Iterable[Mapping[str, Any]], group_id: str) -> set[tuple]:
    normalized = set()
    for perm in permissions or []:
        protocol = _PROTOCOLS.get(str(perm.get("IpProtocol")), str(perm.get("IpProtocol")))
        ports = (0, 0) if protocol == "-1" else (int(perm.get("FromPort") or 0), int(perm.get("ToPort") or 0))
        sources = [f"cidr:{r['CidrIp']}" for r in perm.get("IpRanges") or []]
        sources += [f"cidr6:{r['CidrIpv6']}" for r in perm.get("Ipv6Ranges") or []]
        sources += [f"pl:{p['PrefixListId']}" for p in perm.get("PrefixListIds") or []]
        sources += ["self" if p.get("GroupId") == group_id else f"sg:{p.get('GroupId')}" for p in perm.get("UserIdGroupPairs") or []]
        normalized.update((protocol, *ports, source) for source in sources)
    return normalized


def _sg_compare(attrs: Mapping[str, Any], live: Any) -> list[tuple[str, Any, Any]]:
    diffs: list[tuple[str, Any, Any]] = []
    if attrs.get(SEPARATE_RULES_MARK):
        return diffs  # its rules are compared as the separate resources they are
    group_id = live.get("GroupId")
    for name, key in (("ingress", "IpPermissions"), ("egress", "IpPermissionsEgress")):
        recorded = _rules_recorded(attrs.get(name) or [])
        actual = _rules_live(live.get(key) or [], group_id)
        if recorded != actual:
            only_recorded = sorted(recorded - actual)
            only_live = sorted(actual - recorded)
            diffs.append((name, _fmt_rules(only_recorded) or "–", _fmt_rules(only_live) or "–"))
    return diffs


# Rules managed as separate resources (aws_vpc_security_group_{ingress,egress}_rule, as the networking
# and shared-storage modules do) are compared one by one, by rule id; their group's inline lists are
# then not compared (the state keeps them [] until a refresh).
SEPARATE_RULE_TYPES = ("aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule")
SEPARATE_RULES_MARK = "__rules_managed_separately"


def _rule_recorded(attrs: Mapping[str, Any], egress: bool) -> dict[str, Any]:
    protocol = _PROTOCOLS.get(str(attrs.get("ip_protocol")), str(attrs.get("ip_protocol")))
    # -1 is how Terraform records "all ICMP types" (and DescribeSecurityGroupRules reports it the same).
    all_ports = protocol in {"-1", "icmp", "icmpv6"} and attrs.get("from_port") in (None, -1)
    return {
        "direction": "egress" if egress else "ingress",
        "group": attrs.get("security_group_id"),
        "protocol": protocol,
        "ports": None if all_ports or protocol == "-1" else (_port(attrs.get("from_port")), _port(attrs.get("to_port"))),
        "cidr_ipv4": attrs.get("cidr_ipv4") or None,
        "cidr_ipv6": attrs.get("cidr_ipv6") or None,
        "prefix_list": attrs.get("prefix_list_id") or None,
        "referenced_group": attrs.get("referenced_security_group_id") or None,
    }


def _rule_live(rule: Mapping[str, Any]) -> dict[str, Any]:
    protocol = _PROTOCOLS.get(str(rule.get("IpProtocol")), str(rule.get("IpProtocol")))
    from_port, to_port = rule.get("FromPort"), rule.get("ToPort")
    all_ports = protocol in {"-1", "icmp", "icmpv6"} and from_port in (None, -1)
    return {
        "direction": "egress" if rule.get("IsEgress") else "ingress",
        "group": rule.get("GroupId"),
        "protocol": protocol,
        "ports": None if all_ports or protocol == "-1" else (_port(from_port), _port(to_port)),
        "cidr_ipv4": rule.get("CidrIpv4") or None,
        "cidr_ipv6": rule.get("CidrIpv6") or None,
        "prefix_list": rule.get("PrefixListId") or None,
        "referenced_group": (rule.get("ReferencedGroupInfo") or {}).get("GroupId") or None,
    }


def _port(value: Any) -> int | None:
    return None if value is None else int(value)


def _rule_compare(egress: bool) -> Callable[[Mapping[str, Any], Any], list[tuple[str, Any, Any]]]:
    def compare(attrs: Mapping[str, Any], live: Any) -> list[tuple[str, Any, Any]]:
        recorded, actual = _rule_recorded(attrs, egress), _rule_live(live)
        show = lambda v: "(none)" if v is None else (f"{v[0]}-{v[1]}" if isinstance(v, tuple) else v)  # noqa: E731
        return [(name, show(recorded[name]), show(actual[name])) for name in recorded if recorded[name] != actual[name]]

    return compare


def _fmt_rules(rules: list[tuple]) -> str:
    return ", ".join(f"{p} {a}-{b} {s}" for p, a, b, s in rules)


# --- S3 ------------------------------------------------------------------------------------------------


def _bucket_tags(client: Any, bucket: str) -> Any:
    try:
        return tag_dict(client.get_bucket_tagging(Bucket=bucket).get("TagSet"))
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "NoSuchTagSet":
            return {}
        raise


def _versioning(client: Any, bucket: str) -> Any:
    return client.get_bucket_versioning(Bucket=bucket).get("Status") or "Disabled"


def _versioning_compare(attrs: Mapping[str, Any], live: Any) -> list[tuple[str, Any, Any]]:
    config = (attrs.get("versioning_configuration") or [{}])[0]
    recorded = config.get("status") or "Disabled"
    return [] if recorded == live else [("versioning_configuration.status", recorded, live)]


_PAB_FIELDS = {
    "block_public_acls": "BlockPublicAcls",
    "block_public_policy": "BlockPublicPolicy",
    "ignore_public_acls": "IgnorePublicAcls",
    "restrict_public_buckets": "RestrictPublicBuckets",
}


def _public_access_block(client: Any, bucket: str) -> Any:
    try:
        return client.get_public_access_block(Bucket=bucket).get("PublicAccessBlockConfiguration", {})
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "NoSuchPublicAccessBlockConfiguration":
            return {}  # no block at all: every flag is off
        raise


def _pab_compare(attrs: Mapping[str, Any], live: Any) -> list[tuple[str, Any, Any]]:
    return [
        (name, bool(attrs.get(name)), bool(live.get(field_)))
        for name, field_ in _PAB_FIELDS.items()
        if bool(attrs.get(name)) != bool(live.get(field_))
    ]


def _replication(client: Any, bucket: str) -> Any:
    try:
        return client.get_bucket_replication(Bucket=bucket).get("ReplicationConfiguration", {})
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ReplicationConfigurationNotFoundError":
            return {"Rules": []}
        raise


def _replication_compare(attrs: Mapping[str, Any], live: Any) -> list[tuple[str, Any, Any]]:
    recorded = {
        r.get("id"): (r.get("status"), ((r.get("destination") or [{}])[0]).get("bucket"))
        for r in attrs.get("rule") or []
    }
    actual = {r.get("ID"): (r.get("Status"), (r.get("Destination") or {}).get("Bucket")) for r in live.get("Rules") or []}
    diffs = []
    for rule_id in sorted(set(recorded) | set(actual), key=str):
        if recorded.get(rule_id) != actual.get(rule_id):
            show = lambda v: "(absent)" if v is None else f"{v[0]} → {v[1]}"  # noqa: E731
            diffs.append((f"rule[{rule_id}]", show(recorded.get(rule_id)), show(actual.get(rule_id))))
    return diffs


# --- EKS, FSx, KMS ---------------------------------------------------------------------------------------


def _eks_compare(attrs: Mapping[str, Any], live: Any) -> list[tuple[str, Any, Any]]:
    return [] if str(attrs.get("version")) == str(live.get("version")) else [("version", attrs.get("version"), live.get("version"))]


def _fsx_fetch(client: Any, ids: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {i: MISSING for i in ids}
    try:
        for page in client.get_paginator("describe_file_systems").paginate(FileSystemIds=ids):
            for fs in page.get("FileSystems", []):
                found[fs["FileSystemId"]] = fs
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "FileSystemNotFound":
            raise
        if len(ids) > 1:  # one of them is gone: ask one by one to find out which
            for resource_id in ids:
                found.update(_fsx_fetch(client, [resource_id]))
    return found


def _fsx_compare(attrs: Mapping[str, Any], live: Any) -> list[tuple[str, Any, Any]]:
    diffs = []
    throughput = (live.get("LustreConfiguration") or {}).get("PerUnitStorageThroughput")
    if attrs.get("per_unit_storage_throughput") not in (None, throughput):
        diffs.append(("per_unit_storage_throughput", attrs.get("per_unit_storage_throughput"), throughput))
    if attrs.get("storage_capacity") not in (None, live.get("StorageCapacity")):
        diffs.append(("storage_capacity", attrs.get("storage_capacity"), live.get("StorageCapacity")))
    return diffs


def _kms_compare(attrs: Mapping[str, Any], live: Any) -> list[tuple[str, Any, Any]]:
    diffs = []
    if "is_enabled" in attrs and bool(attrs["is_enabled"]) != bool(live.get("Enabled")):
        diffs.append(("is_enabled", bool(attrs["is_enabled"]), bool(live.get("Enabled"))))
    if live.get("KeyState") in {"PendingDeletion", "PendingReplicaDeletion"}:
        diffs.append(("key_state", "Enabled", live.get("KeyState")))
    return diffs


KINDS: dict[str, Kind] = {
    "aws_vpc": Kind("ec2", lambda a: a.get("id"), _filtered_describe("describe_vpcs", "vpc-id", "Vpcs", "VpcId"), _vpc_compare),
    "aws_security_group": Kind(
        "ec2", lambda a: a.get("id"), _filtered_describe("describe_security_groups", "group-id", "SecurityGroups", "GroupId"), _sg_compare
    ),
    **{
        type_: Kind(
            "ec2",
            lambda a: a.get("security_group_rule_id") or a.get("id"),
            _filtered_describe("describe_security_group_rules", "security-group-rule-id", "SecurityGroupRules", "SecurityGroupRuleId"),
            _rule_compare(egress=type_.endswith("egress_rule")),
        )
        for type_ in SEPARATE_RULE_TYPES
    },
    "aws_s3_bucket": Kind(
        "s3", lambda a: a.get("bucket") or a.get("id"), _per_id(_bucket_tags, {"NoSuchBucket"}), lambda a, live: _compare_tags(_tags_recorded(a), live)
    ),
    "aws_s3_bucket_versioning": Kind("s3", lambda a: a.get("bucket"), _per_id(_versioning, {"NoSuchBucket"}), _versioning_compare),
    "aws_s3_bucket_public_access_block": Kind(
        "s3", lambda a: a.get("bucket"), _per_id(_public_access_block, {"NoSuchBucket"}), _pab_compare
    ),
    "aws_s3_bucket_replication_configuration": Kind(
        "s3", lambda a: a.get("bucket"), _per_id(_replication, {"NoSuchBucket"}), _replication_compare
    ),
    "aws_eks_cluster": Kind(
        "eks", lambda a: a.get("name") or a.get("id"), _per_id(lambda c, n: c.describe_cluster(name=n)["cluster"], {"ResourceNotFoundException"}), _eks_compare
    ),
    "aws_fsx_lustre_file_system": Kind("fsx", lambda a: a.get("id"), _fsx_fetch, _fsx_compare),
    "aws_kms_key": Kind(
        "kms", lambda a: a.get("key_id") or a.get("id"), _per_id(lambda c, k: c.describe_key(KeyId=k)["KeyMetadata"], {"NotFoundException"}), _kms_compare
    ),
}


@dataclass
class Comparison:
    """The outcome of comparing one unit's state with the live API."""

    differences: list[Difference] = field(default_factory=list)
    compared: int = 0
    not_compared: list[str] = field(default_factory=list)  # "address: why"


def compare_resources(resources: Iterable[StateResource], live_of: Callable[[StateResource], Any]) -> Comparison:
    """Compare each resource with `live_of(resource)` (its live view, or MISSING)."""
    result = Comparison()
    for resource in resources:
        kind = KINDS[resource.type]
        live = live_of(resource)
        result.compared += 1
        if live is MISSING:
            result.differences.append(Difference(resource.address, "(resource)", "exists", "not found"))
            continue
        try:
            compared = kind.compare(resource.attributes, live)
        except (AttributeError, TypeError, ValueError, KeyError, IndexError) as error:
            # A state attribute of an unexpected shape (a hand edit, another provider version).
            raise StateFormatError(f"{resource.address}: unexpected attribute shape ({type(error).__name__}: {error})") from None
        for attribute, recorded, actual in compared:
            hidden = attribute.split(".", 1)[0].split("[", 1)[0] in resource.sensitive
            result.differences.append(
                Difference(
                    resource.address,
                    attribute,
                    HIDDEN if hidden else _short(recorded),
                    HIDDEN if hidden else _short(actual),
                )
            )
    return result


def _short(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit] + "…"
