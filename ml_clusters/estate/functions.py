"""The pure Terraform/Terragrunt functions the static evaluator understands.

Terragrunt's context functions (find_in_parent_folders, read_terragrunt_config, ...) need the
evaluation scope and live in evaluator.py; these need nothing but their arguments.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from typing import Any, Callable


class FunctionError(Exception):
    """A function was called with arguments it cannot take."""


def _format(spec: str, *args: Any) -> str:
    values = list(args)

    def substitute(match: re.Match) -> str:
        verb = match.group(2)
        if verb == "%":
            return "%"
        if not values:
            raise FunctionError(f"format: not enough arguments for {spec!r}")
        value = values.pop(0)
        if verb == "d":
            return str(int(value))
        if verb == "q":
            return json.dumps(value)
        if verb == "f":
            return f"{float(value):f}"
        return to_string(value)

    return re.sub(r"%([-+ 0#]*\d*(?:\.\d+)?)([sdvqft%])", substitute, spec)


def to_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        raise FunctionError("cannot use a null value in a string")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        raise FunctionError(f"cannot convert a {type(value).__name__} to a string")
    return str(value)


def _merge(*maps: Any) -> dict:
    out: dict = {}
    for item in maps:
        if item is None:
            continue
        if not isinstance(item, dict):
            raise FunctionError("merge: every argument must be a map")
        out.update(item)
    return out


def _lookup(mapping: dict, key: str, *default: Any) -> Any:
    if key in mapping:
        return mapping[key]
    if default:
        return default[0]
    raise FunctionError(f"lookup: no key {key!r}")


def _element(items: list, index: int) -> Any:
    if not items:
        raise FunctionError("element: empty list")
    return items[int(index) % len(items)]


def _flatten(items: list) -> list:
    out: list = []
    for item in items:
        out.extend(_flatten(item) if isinstance(item, list) else [item])
    return out


def _coalesce(*values: Any) -> Any:
    for value in values:
        if value not in (None, ""):
            return value
    raise FunctionError("coalesce: no non-null, non-empty argument")


PURE_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "dirname": posixpath.dirname,
    "basename": posixpath.basename,
    "abspath": lambda p: posixpath.normpath(os.path.abspath(p)),
    "lower": lambda s: s.lower(),
    "upper": lambda s: s.upper(),
    "title": lambda s: s.title(),
    "replace": lambda s, old, new: s.replace(old, new),
    "split": lambda sep, s: s.split(sep),
    "join": lambda sep, items: sep.join(to_string(i) for i in items),
    "format": _format,
    "trimprefix": lambda s, p: s[len(p) :] if s.startswith(p) else s,
    "trimsuffix": lambda s, p: s[: -len(p)] if p and s.endswith(p) else s,
    "trimspace": lambda s: s.strip(),
    "startswith": lambda s, p: s.startswith(p),
    "endswith": lambda s, p: s.endswith(p),
    "substr": lambda s, offset, length: s[offset : (None if length < 0 else offset + length)],
    "merge": _merge,
    "lookup": _lookup,
    "concat": lambda *lists: [item for lst in lists for item in lst],
    "element": _element,
    "length": len,
    "keys": lambda m: sorted(m),
    "values": lambda m: [m[k] for k in sorted(m)],
    "contains": lambda items, value: value in items,
    "distinct": lambda items: list(dict.fromkeys(items)),
    "flatten": _flatten,
    "coalesce": _coalesce,
    "tostring": to_string,
    "tonumber": lambda v: float(v) if "." in str(v) else int(v),
    "tolist": list,
    "toset": lambda items: list(dict.fromkeys(items)),
    "tomap": dict,
    "jsonencode": lambda v: json.dumps(v, separators=(",", ":")),
    "jsondecode": json.loads,
    "min": min,
    "max": max,
}

# Functions whose value depends on the machine, the network or secrets: never evaluated statically.
RUNTIME_FUNCTIONS = {
    "get_env": "reads an environment variable",
    "run_cmd": "runs a command",
    "sops_decrypt_file": "decrypts a secret file",
    "get_aws_account_id": "asks AWS",
    "get_aws_account_alias": "asks AWS",
    "get_aws_caller_identity_arn": "asks AWS",
    "get_aws_caller_identity_user_id": "asks AWS",
    "get_terraform_command": "depends on the command being run",
    "get_terraform_cli_args": "depends on the command being run",
    "get_platform": "depends on the machine",
    "get_working_dir": "depends on the command being run",
    "timestamp": "depends on the clock",
    "uuid": "is random",
    "file": "reads a file at run time",
    "templatefile": "renders a file at run time",
}
