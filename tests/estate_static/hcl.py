"""python-hcl2 output, normalised for assertions: labels and string literals unquoted, markers dropped."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import hcl2

from tests.estate_static.paths import MODULES_DIR


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"')
    return value


def normalise(node: Any) -> Any:
    if isinstance(node, dict):
        # python-hcl2 v8 adds "__is_block__" and "__comments__" markers
        return {_unquote(k): normalise(v) for k, v in node.items() if not k.startswith("__")}
    if isinstance(node, list):
        return [normalise(v) for v in node]
    if isinstance(node, str):
        return _unquote(node)
    return node


@lru_cache(maxsize=None)
def load(path: Path) -> dict:
    with path.open(encoding="utf-8") as fh:
        return normalise(hcl2.load(fh))


@lru_cache(maxsize=None)
def module(name: str) -> dict[str, list]:
    """All top-level blocks of a module's *.tf files, merged by block type."""
    merged: dict[str, list] = {}
    for tf in sorted((MODULES_DIR / name).glob("*.tf")):
        for block_type, blocks in load(tf).items():
            merged.setdefault(block_type, []).extend(blocks if isinstance(blocks, list) else [blocks])
    return merged


def labelled(module_name: str, block_type: str) -> dict[str, dict]:
    """{label: body} for single-label blocks (variable, output, module)."""
    return {label: body for block in module(module_name).get(block_type, []) for label, body in block.items()}


def resources(module_name: str, block_type: str = "resource") -> dict[tuple[str, str], dict]:
    """{(type, name): body} for resource / data blocks."""
    found = {}
    for block in module(module_name).get(block_type, []):
        for rtype, named in block.items():
            for name, body in named.items():
                found[(rtype, name)] = body
    return found


def first(blocks: list[dict] | None) -> dict:
    """The body of a nested block that python-hcl2 hands out as a one-element list."""
    assert blocks, "expected a nested block"
    return blocks[0]
