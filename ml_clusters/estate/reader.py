"""Discover the units under a live root and resolve them into an Estate (no Dagster here)."""

from __future__ import annotations

import functools
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
    BEST_EFFORT_ERRORS,
    EvaluationError,
    LazyMap,
    Scope,
    Session,
    Unresolvable,
    materialize,
)
from ml_clusters.estate.hclparse import Attribute, Block, Body, HclSyntaxError, parse_hcl, render
from ml_clusters.estate.modules import data_paths_in, hash_path, local_module_closure
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
MERGE_STRATEGIES = ("no_merge", "shallow", "deep")
STACK_FILE = "terragrunt.stack.hcl"
ABSENT = "<absent>"  # an outside "hash": the path was looked for and did not exist
SKIPPED_DIRS = frozenset({".terragrunt-cache", ".terraform", ".git", ".terragrunt-stack"})


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
    hashes = {path: hashlib.sha256(data).hexdigest() for path, data in contents.items()}  # once per load
    tree_key = _tree_key(root, hashes)
    if cache:
        cached = parse_cache.load_estate(tree_key)
        if cached is not None and _outside_unchanged(cached):
            return cached
    reader = _Reader(root, contents, parse_cache, hashes)
    estate = reader.read(units, stacks)
    if cache:
        parse_cache.save(estate, tree_key, estate._outside_hashes)  # type: ignore[attr-defined]
    return estate


def _read_bytes(path: Path | str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except PermissionError:
        raise EstateError(path, "cannot read the file: permission denied") from None
    except OSError as exc:
        raise EstateError(path, f"cannot read the file: {exc.strerror or exc}") from None


@functools.cache
def _code_key() -> str:
    """A hash of the reader's own sources (once per process): a new evaluator never reuses an estate
    cached by an old one."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for source in sorted(package.glob("*.py")):
        digest.update(source.name.encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()


def _tree_key(root: Path, hashes: dict[str, str]) -> str:
    digest = hashlib.sha256(str(root).encode())
    digest.update(_code_key().encode())
    prefix = len(str(root)) + 1
    for path in sorted(hashes):
        digest.update(path[prefix:].encode())
        digest.update(bytes.fromhex(hashes[path]))
    return digest.hexdigest()


def _outside_unchanged(estate: Estate) -> bool:
    """Files the cached estate depends on but the tree hash does not cover: module trees, data files,
    configs read by read_terragrunt_config that are not *.hcl files under the live root (inside or
    outside it). Any change means evaluating again."""
    recorded: dict[str, str] = getattr(estate, "_outside_hashes", {}) or {}
    return all(
        not os.path.exists(p) if h == ABSENT else Path(p).exists() and hash_path(Path(p)) == h
        for p, h in recorded.items()
    )


class _Reader:
    def __init__(
        self, root: Path, contents: dict[str, bytes], parse_cache: ParseCache, file_hashes: dict[str, str] | None = None
    ):
        self.root = root
        self.contents = contents
        self.parse_cache = parse_cache
        self.session = Session(root, self.parse)
        self.session.known_files = set(contents)
        self.tree_files = frozenset(contents)  # what the tree key covers
        self.session.covered = self.covered
        self.unit_dirs: set[str] = set()
        self.path_hashes: dict[Path, str] = {}  # module trees and data files, hashed once per load
        self.closures: dict[Path, tuple[Path, ...]] = {}
        self.file_hashes: dict[str, str] = dict(file_hashes or {})
        self._find_result: dict[str, list[str]] | None = None

    # -- parsing --------------------------------------------------------------------------------
    def parse(self, path: Path) -> Body:
        key = self.file_hash(path)  # reads the file first if the tree walk did not
        data = self.contents[str(path)]
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

    def prefetch(self) -> None:
        """Parse every uncached file of the tree up front, in parallel when there are many."""
        from ml_clusters.estate.parallel import parse_many

        missing: dict[str, bytes] = {}
        for path, data in self.contents.items():
            key = self.file_hash(path)
            if key not in missing and self.parse_cache.get(key) is None:
                missing[key] = data
        for key, body in parse_many(missing).items():
            self.parse_cache.put(key, body)

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
        self.prefetch()
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
        _check_acyclic(units)
        estate = Estate(
            root=self.root,
            units=MappingProxyType(dict(sorted(units.items()))),
            stacks=tuple(str(d.relative_to(self.root)) for d in stack_dirs),
        )
        object.__setattr__(estate, "_outside_hashes", self.outside_hashes())
        return estate

    def covered(self, path: str) -> bool:
        """Whether the tree key would change if `path` appeared: an .hcl file discovered under the root."""
        root = str(self.root) + "/"
        return (
            path.startswith(root)
            and path.endswith(".hcl")
            and not any(part in SKIPPED_DIRS for part in path[len(root) :].split("/")[:-1])
        )

    def outside_hashes(self) -> dict[str, str]:
        """Hashes of everything read that the tree key does not cover (not only files outside the root:
        a `read_terragrunt_config("env.vars")` under it is not an .hcl file of the tree either)."""
        hashes = {str(p): h for p, h in self.path_hashes.items()}
        for key, digest in self.file_hashes.items():
            if key not in self.tree_files:
                hashes[key] = digest
        for path in self.session.absent:
            hashes.setdefault(path, ABSENT)
        return hashes

    def read_unit(self, unit_dir: Path) -> Unit:
        unit_file = unit_dir / UNIT_FILE
        unit_path = unit_dir.relative_to(self.root).as_posix()
        try:
            includes, include_scopes = self.read_includes(unit_file, unit_path)
            found_paths: list[str] | None = None
        except _UseTerragruntFind as found:
            # An include Terragrunt alone can resolve: its dependencies come from `terragrunt find`,
            # everything else is read from the unit's own file.
            includes, include_scopes, found_paths = {}, [], found.paths
        scope = Scope(
            self.session,
            unit_file,
            current_dir=unit_dir,
            includes={label: (path, cfg) for label, (path, cfg, _) in includes.items()},
            exposed={label for label, (_, _, exposed) in includes.items() if exposed},
        )
        # Terragrunt merges each included config under the unit's own (the unit wins).
        merged = [(s, strategy) for s, strategy in include_scopes if strategy != "no_merge"] + [(scope, "child")]
        deep = any(strategy == "deep" for _, strategy in merged)

        try:
            if found_paths is not None:
                raise _UseTerragruntFind(found_paths)
            dependencies = self.read_dependencies(merged, unit_path)
            extra: list[str] = []
            for s, _ in merged:
                for block in s.body.blocks_of("dependencies"):
                    paths_attr = block.body.attributes.get("paths")
                    if paths_attr is not None:
                        paths = self.eval_required(s, paths_attr.value, "dependencies.paths", unit_path, paths_attr.line)
                        if not isinstance(paths, list):
                            raise EstateError(s.file, f"line {paths_attr.line}: dependencies.paths must be a list", unit_path)
                        extra.extend(self.unit_ref(s, str(p), "dependencies.paths", unit_path, paths_attr.line) for p in paths)
        except _UseTerragruntFind as found:
            # Terragrunt itself resolved what the static reader could not.
            dependencies = {p: Dependency(posixpath.basename(p), p) for p in found.paths}
            extra = []

        source: tuple[Scope, Attribute] | None = None
        remote_state_scope: tuple[Scope, Any] | None = None
        inputs: dict[str, Any] = {}
        for s, _ in merged:
            for block in s.body.blocks_of("terraform"):
                if "source" in block.body.attributes:
                    source = (s, block.body.attributes["source"])
            if "remote_state" in s.body.attributes:
                remote_state_scope = (s, s.body.attributes["remote_state"])
            for block in s.body.blocks_of("remote_state"):
                remote_state_scope = (s, block)
            if "inputs" in s.body.attributes:
                layer = self.eval_inputs(s, s.body.attributes["inputs"])
                inputs = _deep_merge(inputs, layer) if deep else {**inputs, **layer}

        source_value: Any = None
        module, module_dir = None, None
        if source is not None:
            s, attr = source
            try:
                source_value = materialize(s.eval(attr.value))
            except Unresolvable:
                # Not part of the graph: the module stays unknown, the estate still loads.
                source_value = Unresolved("<expression nested too deeply>" if _too_deep(attr.value) else render(attr.value))
            except RecursionError:
                raise EstateError(s.file, f"line {attr.line}: terraform.source: expression nested too deeply", unit_path) from None
            except (EvaluationError, TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
                raise EstateError(s.file, f"line {attr.line}: terraform.source: {exc}", unit_path) from None
            if not isinstance(source_value, Unresolved):
                module, module_dir = self.resolve_module(unit_dir, source_value)
        account, region = self.account_and_region(unit_dir, unit_path)
        remote_state = self.read_remote_state(remote_state_scope, unit_path)
        # Terragrunt evaluates every local, used or not: so must code_version see every file they read.
        scope.locals.touch()
        for s, _ in include_scopes:
            s.locals.touch()
        files = set(scope.files_read)
        for s, _ in include_scopes:
            files |= s.files_read
        files_sorted = tuple(sorted(files))
        module_dirs = self.module_closure(module_dir)
        data_paths = tuple(sorted(data_paths_in(inputs, self.root) - set(files_sorted)))
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
            content_hash=self.content_hash(files_sorted, module_dirs + data_paths),
            module_dirs=module_dirs,
            data_paths=data_paths,
        )

    def read_includes(self, unit_file: Path, unit_path: str):
        unit_body = self.parse(unit_file)
        includes: dict[str, tuple[Path, LazyMap, bool]] = {}
        scopes: list[tuple[Scope, str]] = []
        # Terragrunt reads include blocks before locals: their paths may use functions, never locals.
        bare = Scope(self.session, unit_file, current_dir=unit_file.parent, allow_locals=False)
        for block in unit_body.blocks_of("include"):
            label = block.labels[0] if block.labels else ""
            if label in includes:
                raise EstateError(unit_file, f"line {block.line}: two include blocks labelled {label!r}", unit_path)
            attrs = block.body.attributes
            path_attr = attrs.get("path")
            if path_attr is None:
                raise EstateError(unit_file, f"line {block.line}: include {label!r} has no path", unit_path)
            raw = self.eval_required(bare, path_attr.value, f"include.{label}.path", unit_path, path_attr.line)
            if not isinstance(raw, str):
                raise EstateError(unit_file, f"line {path_attr.line}: include.{label}.path must be a string", unit_path)
            path = self.session.path(posixpath.normpath(raw if os.path.isabs(raw) else os.path.join(str(unit_file.parent), raw)))
            if str(path) not in self.contents and not path.is_file():
                raise EstateError(unit_file, f"line {path_attr.line}: include {label!r} points to {raw}, which does not exist", unit_path)
            strategy = "shallow"
            if "merge_strategy" in attrs:
                strategy = self.eval_required(bare, attrs["merge_strategy"].value, f"include.{label}.merge_strategy", unit_path, attrs["merge_strategy"].line)
                if strategy not in MERGE_STRATEGIES:
                    raise EstateError(
                        unit_file,
                        f"line {attrs['merge_strategy'].line}: include.{label}.merge_strategy must be one of "
                        f"{', '.join(MERGE_STRATEGIES)}, not {strategy!r}",
                        unit_path,
                    )
            exposed = False
            if "expose" in attrs:
                exposed = _hcl_bool(
                    self.eval_required(bare, attrs["expose"].value, f"include.{label}.expose", unit_path, attrs["expose"].line),
                    unit_file, f"include.{label}.expose", attrs["expose"].line, unit_path,
                )
            included = Scope(self.session, path, current_dir=unit_file.parent, include_dir=path.parent)
            if included.body.blocks_of("include"):
                raise EstateError(path, f"includes another file, but Terragrunt allows one level of include (included by {unit_path})")
            includes[label] = (path, included.config_map(), exposed)
            scopes.append((included, strategy))
        return includes, scopes

    def read_dependencies(self, merged: list[tuple[Scope, str]], unit_path: str) -> dict[str, Dependency]:
        """Dependency blocks across the unit and its includes: a deep include merges same-named blocks
        attribute by attribute, otherwise the unit's block replaces the included one."""
        blocks: dict[str, dict[str, tuple[Scope, Attribute]]] = {}
        lines: dict[str, tuple[Scope, int]] = {}
        for s, strategy in merged:
            seen_here: set[str] = set()
            for block in s.body.blocks_of("dependency"):
                name = block.labels[0] if block.labels else ""
                if name in seen_here:
                    raise EstateError(s.file, f"line {block.line}: two dependency blocks named {name!r}", unit_path)
                seen_here.add(name)
                attrs = {a: (s, attr) for a, attr in block.body.attributes.items()}
                if name in blocks and (strategy == "deep" or self._deep_parent(merged, name)):
                    blocks[name] = {**blocks[name], **attrs}
                else:
                    blocks[name] = attrs
                lines[name] = (s, block.line)
        return {name: self.read_dependency(name, attrs, lines[name], unit_path) for name, attrs in blocks.items()}

    @staticmethod
    def _deep_parent(merged: list[tuple[Scope, str]], name: str) -> bool:
        return any(
            strategy == "deep" and any((b.labels or ("",))[0] == name for b in s.body.blocks_of("dependency"))
            for s, strategy in merged
        )

    def read_dependency(self, name: str, attrs: dict[str, tuple[Scope, Attribute]], where: tuple[Scope, int], unit_path: str) -> Dependency:
        block_scope, block_line = where
        enabled = True
        if "enabled" in attrs:
            s, attr = attrs["enabled"]
            value = self.eval_required(s, attr.value, f"dependency.{name}.enabled", unit_path, attr.line)
            enabled = _hcl_bool(value, s.file, f"dependency.{name}.enabled", attr.line, unit_path)
        if "config_path" not in attrs:
            raise EstateError(block_scope.file, f"line {block_line}: dependency {name!r} has no config_path", unit_path)
        s, attr = attrs["config_path"]
        if not enabled:
            # A disabled dependency is no edge; its target may legitimately not exist (e.g. prod only).
            try:
                raw = materialize(s.eval(attr.value))
            except (Unresolvable, EvaluationError):
                raw = None
            return Dependency(name, str(raw or ""), False, False, str(s.file))
        raw = self.eval_required(s, attr.value, f"dependency.{name}.config_path", unit_path, attr.line)
        if not isinstance(raw, str) or not raw:
            raise EstateError(s.file, f"line {attr.line}: dependency.{name}.config_path must be a path, not {raw!r}", unit_path)
        path = self.unit_ref(s, raw, f"dependency.{name}.config_path", unit_path, attr.line)
        skip_outputs = False
        if "skip_outputs" in attrs:
            so_scope, so_attr = attrs["skip_outputs"]
            try:
                skip_outputs = _hcl_bool(materialize(so_scope.eval(so_attr.value)), so_scope.file, "skip_outputs", so_attr.line, unit_path)
            except (Unresolvable, EvaluationError):
                skip_outputs = False
        return Dependency(name, path, True, skip_outputs, str(s.file))

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
        except RecursionError:
            raise EstateError(scope.file, f"{where}{attribute}: expression nested too deeply", unit_path) from None
        except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
            # An evaluator gap, not the user's mistake: still one line naming the file and attribute.
            raise EstateError(scope.file, f"{where}{attribute} cannot be evaluated: {exc}", unit_path) from None
        except Unresolvable as exc:
            # Only the graph (dependency/dependencies and the includes that may hold them) is asked of
            # `eval_required`, and only the graph can come from `terragrunt find`.
            found = self.terragrunt_find_dependencies(unit_path)
            if found is not None:
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
            except _INPUT_ERRORS:
                return {}
            return dict(value) if isinstance(value, dict) else {}
        out: dict[str, Any] = {}
        for key_node, value_node in node[1]:
            try:
                key = str(materialize(scope.eval(key_node)))
            except _INPUT_ERRORS:
                continue
            try:
                out[key] = materialize(scope.eval(value_node))
            except _INPUT_ERRORS:
                out[key] = Unresolved("<expression nested too deeply>" if _too_deep(value_node) else render(value_node))
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
        account_file = self.session.find_in_parent_folders(unit_dir, "account.hcl", files_only=True)
        if account_file is not None:
            values = self.session.read_config(account_file, unit_dir).value.get("locals").resolve_known()
            if "account_id" not in values:
                declared = any(
                    "account_id" in b.body.attributes for b in self.parse(account_file).blocks_of("locals")
                )
                cause = "locals.account_id cannot be evaluated statically" if declared else "locals has no account_id"
                raise EstateError(account_file, cause, unit_path)
            account = Account(
                key=account_file.parent.relative_to(self.root).as_posix() if account_file.parent != self.root else "",
                name=str(values.get("account_name", account_file.parent.name)),
                id=str(values["account_id"]),
                locals=dict(values),
            )
        region_file = self.session.find_in_parent_folders(unit_dir, "region.hcl", files_only=True)
        if region_file is not None:
            values = self.session.read_config(region_file, unit_dir).value.get("locals").resolve_known()
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
            except BEST_EFFORT_ERRORS:
                backend = ""
            config = self.eval_inputs(scope, attrs["config"]) if "config" in attrs else {}
        else:
            try:
                value = materialize(scope.eval(node.value))
            except BEST_EFFORT_ERRORS:
                return None
            if not isinstance(value, dict) or not isinstance(value.get("config") or {}, dict):
                raise EstateError(
                    scope.file,
                    f"line {node.line}: remote_state must be a map like {{ backend = \"s3\", config = {{ ... }} }}, "
                    f"not {_describe(value)}",
                    unit_path,
                )
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

    def module_closure(self, module_dir: Path | None) -> tuple[Path, ...]:
        if module_dir is None or not module_dir.is_dir():
            return ()
        if module_dir not in self.closures:
            self.closures[module_dir] = local_module_closure(module_dir)
        return self.closures[module_dir]

    def content_hash(self, files: tuple[Path, ...], trees: tuple[Path, ...]) -> str:
        """What code_version follows: config files read, module trees (with the local modules they
        call) and files or directories named by inputs (cluster configs, lifecycle scripts)."""
        digest = hashlib.sha256()
        root = str(self.root) + "/"
        for path in files:
            digest.update(str(path).removeprefix(root).encode())
            digest.update(self.file_hash(path).encode())
        for path in trees:
            if path not in self.path_hashes:
                self.path_hashes[path] = hash_path(path)
            digest.update(self.path_hashes[path].encode())
        return digest.hexdigest()[:16]

    # -- fallback -----------------------------------------------------------------------------
    def terragrunt_find_dependencies(self, unit_path: str) -> list[str] | None:
        """Ask `terragrunt find --json --dag --dependencies` (once per load); None without terragrunt."""
        binary = shutil.which(os.environ.get("ML_CLUSTERS_TERRAGRUNT", "terragrunt"))
        if binary is None:
            return None
        if self._find_result is None:
            command = f"{binary} --working-dir {self.root} find --json --dag --dependencies"
            try:
                proc = subprocess.run(
                    [binary, "--working-dir", str(self.root), "find", "--json", "--dag", "--dependencies"],
                    capture_output=True,
                    text=True,
                    timeout=300,
                )
            except (OSError, subprocess.SubprocessError) as exc:
                raise EstateError(self.root, f"`{command}` could not run: {exc}") from None
            if proc.returncode != 0:
                last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
                raise EstateError(self.root, f"`{command}` failed (exit {proc.returncode}): {last}")
            try:
                items = json.loads(proc.stdout or "[]")
                self._find_result = {
                    str(item["path"]).strip("/"): [str(d).strip("/") for d in item.get("dependencies", [])]
                    for item in items
                    if item.get("type", "unit") == "unit"
                }
            except (ValueError, TypeError, KeyError, AttributeError):
                raise EstateError(self.root, f"`{command}` printed something that is not its documented JSON") from None
        if unit_path not in self._find_result:
            raise EstateError(self.root, f"`terragrunt find` does not list unit {unit_path!r}", unit_path)
        return self._find_result[unit_path]


# Best-effort inputs: a value the evaluator cannot produce is Unresolved, never a crash of the load.
_INPUT_ERRORS = (*BEST_EFFORT_ERRORS, TypeError, ValueError, AttributeError, KeyError, IndexError)


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _UseTerragruntFind(Exception):
    def __init__(self, paths: list[str]):
        self.paths = paths


def _check_acyclic(units: dict[str, Unit]) -> None:
    sorter = graphlib.TopologicalSorter({p: u.depends_on for p, u in units.items()})
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        cycle = list(exc.args[1])  # [a, b, ..., a]: each depends on the next
        first = units[cycle[0]]
        raise EstateError(
            first.dir / UNIT_FILE, "dependency cycle: " + " -> ".join(cycle)
        ) from None


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _hcl_bool(value: Any, file: Path, attribute: str, line: int, unit_path: str) -> bool:
    """HCL's conversion to bool: true/false and the strings "true"/"false"; anything else is an error."""
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise EstateError(file, f"line {line}: {attribute} must be a bool, not {value!r}", unit_path)


def _too_deep(node: tuple) -> bool:
    try:
        render(node)
        return False
    except RecursionError:
        return True
