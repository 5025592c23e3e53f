"""What a unit's code_version follows beyond its config files: local module trees and data files."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

MODULE_SKIPPED_DIRS = frozenset({".terraform", ".terragrunt-cache", ".git"})
# `source = "./x"` / `"../x"` inside a module block: a local module call.
_LOCAL_SOURCE = re.compile(r"""\bsource\s*=\s*"(\.{1,2}/[^"]*)\"""")


def local_module_closure(module_dir: Path) -> tuple[Path, ...]:
    """The module directory and every local module it calls, transitively (resolved paths)."""
    found: list[Path] = []
    frontier = [Path(module_dir).resolve()]
    while frontier:
        current = frontier.pop()
        if current in found or not current.is_dir():
            continue
        found.append(current)
        for tf in sorted(current.glob("*.tf")):
            try:
                text = tf.read_text(errors="replace")
            except OSError:
                continue
            for source in _LOCAL_SOURCE.findall(text):
                frontier.append((current / source.split("//")[0]).resolve())
    return tuple(found)


def hash_path(path: Path) -> str:
    """Content hash of a file, or of every file under a directory (names included)."""
    digest = hashlib.sha256()
    if path.is_file():
        digest.update(_read(path))
        return digest.hexdigest()
    for current, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(d for d in dirnames if d not in MODULE_SKIPPED_DIRS)
        for name in sorted(filenames):
            file = Path(current) / name
            digest.update(str(file.relative_to(path)).encode())
            digest.update(hashlib.sha256(_read(file)).digest())
    return digest.hexdigest()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b"<unreadable>"


def data_paths_in(value: object, live_root: Path) -> set[Path]:
    """Existing files/directories named by evaluated input values (cluster configs, scripts, ...).

    Only paths inside the estate (the live root's parent, e.g. `terraform/`) count: an input such as
    a mount path `/home` names the cluster's filesystem, not a file of ours. Directories that contain
    the live root are never taken: they would make every unit depend on everything.
    """
    found: set[Path] = set()
    stack = [value]
    root = str(live_root)
    estate_dir = os.path.dirname(root.rstrip("/")) + "/"
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and item.startswith("/") and "\n" not in item and len(item) < 4096:
            normalized = os.path.normpath(item)
            if not normalized.startswith(estate_dir):
                continue
            if root == normalized or root.startswith(normalized.rstrip("/") + "/"):
                continue
            if os.path.exists(normalized):
                found.add(Path(normalized))
    return found
