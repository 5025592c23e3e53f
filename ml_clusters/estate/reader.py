"""Discover the units under a live root and resolve them into an Estate (no Dagster here)."""

from __future__ import annotations

import graphlib
import hashlib
import json
import os
import posixpath
import shutil
import subprocess
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ml_clusters.estate.cache import ParseCache, cache_dir_for
from ml_clusters.estate.evaluator import (
    EvaluationError,
    LazyMap,
    Scope,
    Session,
    Unresolvable,
    materialize,
)
from ml_clusters.estate.hclparse import Block, Body, HclSyntaxError, parse_hcl, render
from ml_clusters.estate.model import (
    Account,
    Dependency,
    Estate,
    EstateError,
    RemoteState,
    Unit,
    Unresolved,
)

UNIT_FILE = "terragrunt.hcl"
STACK_FILE = "terragrunt.stack.hcl"
SKIPPED_DIRS = frozenset({".terragrunt-cache", ".terraform", ".git", ".terragrunt-stack"})
MODULE_SKIPPED_DIRS = frozenset({".terraform", ".terragrunt-cache", ".git"})


def default_live_dir() -> Path:
    """`ML_CLUSTERS_LIVE_DIR`, or the repository's terraform/live."""
    configured = os.environ.get("ML_CLUSTERS_LIVE_DIR")
    if configured:
        return Path(configured).expanduser().resolve()
    return Path(__file__).resolve().parents[2] / "terraform" / "live"


def discover(root: Path) -> tuple[list[Path], list[Path], list[str]]:
    """(unit dirs, stack dirs, every .hcl file) under the live root, skipping caches and .git."""
    units: list[Path] = []
    stacks: list[Path] = []
    files: list[str] = []
    top = str(root)
    for current, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
        files.extend(os.path.join(current, name) for name in filenames if name.endswith(".hcl"))
        # A terragrunt.hcl at the live root is a legacy root config, never a unit.
        if UNIT_FILE in filenames and current != top:
            units.append(Path(current))
        if STACK_FILE in filenames:
            stacks.append(Path(current))
    return units, stacks, files


def load_estate(root: Path | str | None = None, *, cache: bool = True, cache_dir: Path | None = None) -> Estate:
    """Read the live tree at `root` into an immutable Estate.

    Raises EstateError with a one-line message naming the file and the cause on bad input.
    With `cache`, parsed files are kept by content hash and a whole unchanged tree is reused as is.
    """
    root = Path(root or default_live_dir()).expanduser().resolve()
    if not root.is_dir():
        raise EstateError(root, "live root is not a directory")
    parse_cache = ParseCache(cache_dir or cache_dir_for(root)) if cache else ParseCache(None)
    units, stacks, files = discover(root)
    contents = {path: _read_bytes(path) for path in files}
    tree_key = _tree_key(root, contents)
    if cache:
        cached = parse_cache.load_estate(tree_key)
        if cached is not None and _modules_unchanged(cached):
            return cached
    reader = _Reader(root, contents, parse_cache)
    estate = reader.read(units, stacks)
    if cache:
        parse_cache.save(estate, tree_key, reader.module_hashes)
    return estate


def _read_bytes(path: Path | str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except PermissionError:
        raise EstateError(path, "cannot read the file: permission denied") from None
    except OSError as exc:
        raise EstateError(path, f"cannot read the file: {exc.strerror or exc}") from None


def _tree_key(root: Path, contents: dict[str, bytes]) -> str:
    digest = hashlib.sha256(str(root).encode())
    prefix = len(str(root)) + 1
    for path in sorted(contents):
        digest.update(path[prefix:].encode())
        digest.update(hashlib.sha256(contents[path]).digest())
    return digest.hexdigest()


def hash_module_tree(module_dir: Path) -> str:
    """Content hash of every file in a local module directory (what `code_version` follows)."""
    digest = hashlib.sha256()
    for current, dirnames, filenames in os.walk(module_dir):
        dirnames[:] = sorted(d for d in dirnames if d not in MODULE_SKIPPED_DIRS)
        for name in sorted(filenames):
            path = Path(current) / name
            digest.update(str(path.relative_to(module_dir)).encode())
            try:
                digest.update(hashlib.sha256(path.read_bytes()).digest())
            except OSError:
                digest.update(b"<unreadable>")
    return digest.hexdigest()


def _modules_unchanged(estate: Estate) -> bool:
    recorded: dict[str, str] = getattr(estate, "_module_hashes", {}) or {}
    return all(Path(d).is_dir() and hash_module_tree(Path(d)) == h for d, h in recorded.items())


class _Reader:
    def __init__(self, root: Path, contents: dict[str, bytes], parse_cache: ParseCache):
        self.root = root
        self.contents = contents
        self.parse_cache = parse_cache
        self.session = Session(root, self.parse)
        self.session.known_files = set(contents)
        self.unit_dirs: set[str] = set()
        self.module_hashes: dict[str, str] = {}
        self.file_hashes: dict[str, str] = {}
        self._find_result: dict[str, list[str]] | None = None

    # -- parsing --------------------------------------------------------------------------------
    def parse(self, path: Path) -> Body:
        data = self.contents.get(str(path))
        if data is None:
            data = _read_bytes(path)
            self.contents[str(path)] = data
        key = self.file_hash(path)
        body = self.parse_cache.get(key)
        if body is None:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                raise EstateError(path, "not UTF-8 text") from None
            try:
                body = parse_hcl(text)
            except HclSyntaxError as exc:
                raise EstateError(path, str(exc)) from None
            self.parse_cache.put(key, body)
        return body

    def file_hash(self, path: Path) -> str:
        key = str(path)
        if key not in self.file_hashes:
            data = self.contents.get(key)
            if data is None:
                data = _read_bytes(path)
                self.contents[key] = data
            self.file_hashes[key] = hashlib.sha256(data).hexdigest()
        return self.file_hashes[key]

    # -- units --------------------------------------------------------------------------------
    def read(self, unit_dirs: list[Path], stack_dirs: list[Path]) -> Estate:
        self.unit_dirs = {str(d) for d in unit_dirs}
        units: dict[str, Unit] = {}
        for unit_dir in unit_dirs:
            unit = self.read_unit(unit_dir)
            units[unit.path] = unit
        for unit in units.values():
            for dep_path in unit.depends_on:
                if dep_path not in units:
                    raise EstateError(
                        unit.dir / UNIT_FILE, f"depends on {dep_path!r}, which is not a unit under the live root"
                    )
        _check_acyclic(self.root, units)
        estate = Estate(
            root=self.root,
            units=MappingProxyType(dict(sorted(units.items()))),
            stacks=tuple(str(d.relative_to(self.root)) for d in stack_dirs),
        )
        object.__setattr__(estate, "_module_hashes", dict(self.module_hashes))
        return estate

    def read_unit(self, unit_dir: Path) -> Unit:
        unit_file = unit_dir / UNIT_FILE
        unit_path = unit_dir.relative_to(self.root).as_posix()
        includes, include_scopes = self.read_includes(unit_file, unit_path)
        scope = Scope(self.session, unit_file, current_dir=unit_dir, includes=includes)
        merged_scopes = [s for s, strategy in include_scopes if strategy != "no_merge"] + [scope]

        dependencies: dict[str, Dependency] = {}
        extra: list[str] = []
        source: tuple[Scope, Any] | None = None
        remote_state_scope: tuple[Scope, Any] | None = None
        inputs: dict[str, Any] = {}
        try:
            for s in merged_scopes:
                for block in s.body.blocks_of("dependency"):
                    dep = self.read_dependency(s, block, unit_path)
                    dependencies[dep.name] = dep
                for block in s.body.blocks_of("dependencies"):
                    paths_attr = block.body.attributes.get("paths")
                    if paths_attr is not None:
                        paths = self.eval_required(s, paths_attr.value, "dependencies.paths", unit_path, paths_attr.line)
                        if not isinstance(paths, list):
                            raise EstateError(s.file, f"line {paths_attr.line}: dependencies.paths must be a list", unit_path)
                        extra.extend(self.unit_ref(s, str(p), "dependencies.paths", unit_path, paths_attr.line) for p in paths)
        except _UseTerragruntFind as found:
            # Terragrunt itself resolved what the static reader could not.
            dependencies = {posixpath.basename(p): Dependency(posixpath.basename(p), p) for p in found.paths}
            extra = []
        for s in merged_scopes:
            for block in s.body.blocks_of("terraform"):
                if "source" in block.body.attributes:
                    source = (s, block.body.attributes["source"])
            if "remote_state" in s.body.attributes:
                remote_state_scope = (s, s.body.attributes["remote_state"].value)
            for block in s.body.blocks_of("remote_state"):
                remote_state_scope = (s, block)
            if "inputs" in s.body.attributes:
                inputs.update(self.eval_inputs(s, s.body.attributes["inputs"]))

        source_value = None
        if source is not None:
            s, attr = source
            source_value = self.eval_required(s, attr.value, "terraform.source", unit_path, attr.line)
        module, module_dir = self.resolve_module(unit_dir, source_value)
        account, region = self.account_and_region(unit_dir, unit_path)
        remote_state = self.read_remote_state(remote_state_scope, unit_path)
        files = set(scope.files_read)
        for s, _ in include_scopes:
            files |= s.files_read
        files_sorted = tuple(sorted(files))
        return Unit(
            path=unit_path,
            dir=unit_dir,
            account=account,
            region=region,
            component=unit_dir.name,
            module=module,
            source=source_value,
            module_dir=module_dir,
            dependencies=tuple(dependencies.values()),
            extra_dependencies=tuple(dict.fromkeys(extra)),
            inputs=inputs,
            files=files_sorted,
            remote_state=remote_state,
            content_hash=self.content_hash(files_sorted, module_dir),
        )

    def read_includes(self, unit_file: Path, unit_path: str):
        unit_body = self.parse(unit_file)
        includes: dict[str, tuple[Path, LazyMap]] = {}
        scopes: list[tuple[Scope, str]] = []
        # Include paths may use functions but never locals: evaluate them in a bare scope.
        bare = Scope(self.session, unit_file, current_dir=unit_file.parent)
        for block in unit_body.blocks_of("include"):
            label = block.labels[0] if block.labels else ""
            path_attr = block.body.attributes.get("path")
            if path_attr is None:
                raise EstateError(unit_file, f"line {block.line}: include {label!r} has no path")
            raw = self.eval_required(bare, path_attr.value, f"include.{label}.path", unit_path, path_attr.line)
            path = self.session.path(posixpath.normpath(str(raw) if os.path.isabs(str(raw)) else os.path.join(str(unit_file.parent), str(raw))))
            if str(path) not in self.contents and not path.is_file():
                raise EstateError(unit_file, f"line {path_attr.line}: include {label!r} points to {raw}, which does not exist")
            strategy = "shallow"
            if "merge_strategy" in block.body.attributes:
                strategy = str(bare.eval(block.body.attributes["merge_strategy"].value))
            included = Scope(self.session, path, current_dir=unit_file.parent, include_dir=path.parent)
            if included.body.blocks_of("include"):
                raise EstateError(path, f"includes another file, but Terragrunt allows one level of include (included by {unit_path})")
            includes[label] = (path, included.config_map())
            scopes.append((included, strategy))
        return includes, scopes

    def read_dependency(self, scope: Scope, block: Block, unit_path: str) -> Dependency:
        name = block.labels[0] if block.labels else ""
        attrs = block.body.attributes
        if "config_path" not in attrs:
            raise EstateError(scope.file, f"line {block.line}: dependency {name!r} has no config_path")
        raw = self.eval_required(scope, attrs["config_path"].value, f"dependency.{name}.config_path", unit_path, attrs["config_path"].line)
        path = self.unit_ref(scope, str(raw), f"dependency.{name}.config_path", unit_path, attrs["config_path"].line)
        enabled = True
        if "enabled" in attrs:
            enabled = bool(self.eval_required(scope, attrs["enabled"].value, f"dependency.{name}.enabled", unit_path, attrs["enabled"].line))
        skip_outputs = False
        if "skip_outputs" in attrs:
            try:
                skip_outputs = bool(scope.eval(attrs["skip_outputs"].value))
            except (Unresolvable, EvaluationError):
                skip_outputs = False
        return Dependency(name, path, enabled, skip_outputs, str(scope.file))

    def unit_ref(self, scope: Scope, raw: str, attribute: str, unit_path: str, line: int | None = None) -> str:
        """A config_path / dependencies path → unit path under the root, or a clear error."""
        where = f"line {line}: " if line else ""
        target = posixpath.normpath(raw if os.path.isabs(raw) else posixpath.join(str(scope.current_dir), raw))
        if posixpath.basename(target) == UNIT_FILE:
            target = posixpath.dirname(target)
        root = str(self.root)
        if target in self.unit_dirs:
            return target[len(root) + 1 :]
        if target == root:
            raise EstateError(scope.file, f"{where}{attribute} points at the live root, which is not a unit", unit_path)
        if not target.startswith(root + "/"):
            raise EstateError(scope.file, f"{where}{attribute} = {raw!r} points outside the live root ({target})", unit_path)
        rel = target[len(root) + 1 :]
        reason = "does not exist" if not os.path.exists(target) else "has no terragrunt.hcl"
        raise EstateError(scope.file, f"{where}{attribute} = {raw!r}: {rel} {reason}", unit_path)

    def eval_required(self, scope: Scope, node: tuple, attribute: str, unit_path: str, line: int | None = None) -> Any:
        """Evaluate a value the graph needs; explain exactly why when it cannot be done statically."""
        where = f"line {line}: " if line else ""
        try:
            return materialize(scope.eval(node))
        except EvaluationError as exc:
            raise EstateError(scope.file, f"{where}{attribute}: {exc}", unit_path) from None
        except Unresolvable as exc:
            found = self.terragrunt_find_dependencies(unit_path)
            if found is not None and attribute.startswith(("dependency.", "dependencies.")):
                raise _UseTerragruntFind(found) from None
            raise EstateError(
                scope.file,
                f"{where}{attribute} cannot be resolved statically: {exc.reason}; "
                "install Terragrunt >= 1.0 so ml-clusters can ask `terragrunt find --json --dag --dependencies`",
                unit_path,
            ) from None

    def eval_inputs(self, scope: Scope, attr) -> dict[str, Any]:
        node = attr.value
        if node[0] != "object":
            try:
                value = materialize(scope.eval(node))
            except (Unresolvable, EvaluationError):
                return {}
            return dict(value) if isinstance(value, dict) else {}
        out: dict[str, Any] = {}
        for key_node, value_node in node[1]:
            try:
                key = str(materialize(scope.eval(key_node)))
            except (Unresolvable, EvaluationError):
                continue
            try:
                out[key] = materialize(scope.eval(value_node))
            except (Unresolvable, EvaluationError):
                out[key] = Unresolved(render(value_node))
        return out

    def resolve_module(self, unit_dir: Path, source: Any) -> tuple[str | None, Path | None]:
        if not source:
            return None, None
        text = str(source)
        if "://" in text or text.startswith(("git::", "tfr:", "s3::", "gcs::", "hg::")) or (
            not text.startswith((".", "/")) and text.count("/") >= 2 and not Path(text).exists()
        ):
            # Remote module: name it after its last path segment; there is no local tree to hash.
            tail = text.split("?")[0].rstrip("/").split("//")[-1]
            return tail.rsplit("/", 1)[-1] or None, None
        base, _, sub = text.partition("//")
        path = base if os.path.isabs(base) else os.path.join(str(unit_dir), base)
        module_dir = self.session.path(posixpath.normpath(os.path.join(path, sub) if sub else path))
        return module_dir.name, module_dir

    def account_and_region(self, unit_dir: Path, unit_path: str) -> tuple[Account | None, str | None]:
        account = None
        region = None
        account_file = self.session.find_in_parent_folders(unit_dir, "account.hcl")
        if account_file is not None:
            values = self.session.read_config(account_file).value.get("locals").resolve()
            if "account_id" not in values:
                raise EstateError(account_file, "locals has no account_id", unit_path)
            account = Account(
                key=account_file.parent.relative_to(self.root).as_posix() if account_file.parent != self.root else "",
                name=str(values.get("account_name", account_file.parent.name)),
                id=str(values["account_id"]),
                locals=dict(values),
            )
        region_file = self.session.find_in_parent_folders(unit_dir, "region.hcl")
        if region_file is not None:
            values = self.session.read_config(region_file).value.get("locals").resolve()
            region = values.get("aws_region")
        return account, region

    def read_remote_state(self, found: tuple[Scope, Any] | None, unit_path: str) -> RemoteState | None:
        """The backend and where the state lives; a key that needs run time stays unknown (None)."""
        if found is None:
            return None
        scope, node = found
        if isinstance(node, Block):
            attrs = node.body.attributes
            try:
                backend = materialize(scope.eval(attrs["backend"].value)) if "backend" in attrs else ""
            except (Unresolvable, EvaluationError):
                backend = ""
            config = self.eval_inputs(scope, attrs["config"]) if "config" in attrs else {}
        else:
            try:
                value = materialize(scope.eval(node))
            except (Unresolvable, EvaluationError):
                return None
            backend, config = value.get("backend", ""), value.get("config") or {}

        def known(name: str) -> Any:
            item = config.get(name)
            return None if isinstance(item, Unresolved) else item

        return RemoteState(
            backend=str(backend),
            bucket=known("bucket"),
            key=known("key"),
            region=known("region"),
            use_lockfile=bool(known("use_lockfile") or False),
        )

    def content_hash(self, files: tuple[Path, ...], module_dir: Path | None) -> str:
        digest = hashlib.sha256()
        root = str(self.root) + "/"
        for path in files:
            digest.update(str(path).removeprefix(root).encode())
            digest.update(self.file_hash(path).encode())
        if module_dir is not None and module_dir.is_dir():
            key = str(module_dir)
            if key not in self.module_hashes:
                self.module_hashes[key] = hash_module_tree(module_dir)
            digest.update(self.module_hashes[key].encode())
        return digest.hexdigest()[:16]

    # -- fallback -----------------------------------------------------------------------------
    def terragrunt_find_dependencies(self, unit_path: str) -> list[str] | None:
        binary = shutil.which(os.environ.get("ML_CLUSTERS_TERRAGRUNT", "terragrunt"))
        if binary is None:
            return None
        if self._find_result is None:
            proc = subprocess.run(
                [binary, "--working-dir", str(self.root), "find", "--json", "--dag", "--dependencies"],
                capture_output=True,
                text=True,
                timeout=300,
            )
            if proc.returncode != 0:
                raise EstateError(self.root, f"`terragrunt find` failed: {proc.stderr.strip().splitlines()[-1:]}")
            self._find_result = {
                item["path"]: list(item.get("dependencies", []))
                for item in json.loads(proc.stdout or "[]")
                if item.get("type", "unit") == "unit"
            }
        return self._find_result.get(unit_path, [])


class _UseTerragruntFind(Exception):
    def __init__(self, paths: list[str]):
        self.paths = paths


def _check_acyclic(root: Path, units: dict[str, Unit]) -> None:
    sorter = graphlib.TopologicalSorter({p: u.depends_on for p, u in units.items()})
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        cycle = list(exc.args[1])  # [a, b, ..., a]: each depends on the next
        first = units[cycle[0]]
        raise EstateError(
            first.dir / UNIT_FILE, "dependency cycle: " + " -> ".join(cycle)
        ) from None
