"""Static evaluation of the Terragrunt expressions that decide the graph.

Terragrunt evaluates an included file *as part of the including unit*: `get_terragrunt_dir()` and
`find_in_parent_folders()` answer for the unit's directory, while `local.*` refers to the file's own
locals. A `read_terragrunt_config()` file is evaluated from its own directory, so its value is the same
for every unit and is computed once per load.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ml_clusters.estate.functions import PURE_FUNCTIONS, RUNTIME_FUNCTIONS, FunctionError, to_string
from ml_clusters.estate.hclparse import Attribute, Body


class Unresolvable(Exception):
    """The value is only known at run time (dependency outputs, get_env, ...)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class EvaluationError(Exception):
    """The expression is wrong (unknown local, bad function argument, ...)."""


_MISSING = object()


class LazyMap:
    """A map whose entries are evaluated on first access (locals, exposed includes)."""

    def __init__(self, describe: str, entries: dict[str, Callable[[], Any]]):
        self._describe = describe
        self._entries = entries
        self._values: dict[str, Any] = {}
        self._busy: set[str] = set()

    def get(self, name: str) -> Any:
        if name in self._values:
            return self._values[name]
        thunk = self._entries.get(name)
        if thunk is None:
            raise EvaluationError(f"{self._describe} has no attribute {name!r}")
        if name in self._busy:
            raise EvaluationError(f"{self._describe}.{name} refers to itself")
        self._busy.add(name)
        try:
            value = thunk()
        finally:
            self._busy.discard(name)
        self._values[name] = value
        return value

    def keys(self) -> list[str]:
        return list(self._entries)

    def resolve(self) -> dict[str, Any]:
        """Every entry that can be evaluated statically; the rest are left out."""
        out = {}
        for name in self._entries:
            try:
                out[name] = materialize(self.get(name))
            except (Unresolvable, EvaluationError):
                continue
        return out


def materialize(value: Any) -> Any:
    if isinstance(value, LazyMap):
        return value.resolve()
    if isinstance(value, dict):
        return {k: materialize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [materialize(v) for v in value]
    return value


@dataclass
class ReadResult:
    """What `read_terragrunt_config` returns, plus the files it read (for content hashes)."""

    value: LazyMap
    files: frozenset[Path]


class Session:
    """State shared by all units of one load: parsed files and read_terragrunt_config results."""

    def __init__(self, root: Path, parse: Callable[[Path], Body]):
        self.root = root
        self.parse = parse
        self._reads: dict[Path, ReadResult] = {}
        self._parents: dict[tuple[str, str], str | None] = {}
        self.known_files: set[str] = set()  # files discovered under the root: no stat needed
        self._paths: dict[str, Path] = {}

    def find_in_parent_folders(self, start_dir: Path, name: str) -> Path | None:
        """Terragrunt's search: from the parent of `start_dir` upwards (memoised per directory)."""
        found = self._find_from(os.path.dirname(str(start_dir)), name)
        return self.path(found) if found is not None else None

    def path(self, text: str) -> Path:
        """One shared Path object per file: cheaper to build, and pickled once in the cache."""
        interned = self._paths.get(text)
        if interned is None:
            interned = self._paths[text] = Path(text)
        return interned

    def _find_from(self, directory: str, name: str) -> str | None:
        key = (directory, name)
        if key not in self._parents:
            candidate = os.path.join(directory, name)
            if candidate in self.known_files or os.path.isfile(candidate):
                self._parents[key] = candidate
            else:
                parent = os.path.dirname(directory)
                self._parents[key] = None if parent == directory else self._find_from(parent, name)
        return self._parents[key]

    def read_config(self, path: Path) -> ReadResult:
        if path not in self._reads:
            scope = Scope(self, path, current_dir=path.parent)
            # Evaluate the locals now so nested reads are known before the files are recorded.
            scope.locals.resolve()
            self._reads[path] = ReadResult(scope.config_map(), frozenset(scope.files_read))
        return self._reads[path]


class Scope:
    """Evaluation scope of one file, as seen from one unit (or from itself when read)."""

    def __init__(
        self,
        session: Session,
        file: Path,
        current_dir: Path,
        include_dir: Path | None = None,
        includes: dict[str, tuple[Path, LazyMap]] | None = None,
        exposed: set[str] | None = None,
        allow_locals: bool = True,
    ):
        self.session = session
        self.file = file
        self.body = session.parse(file)
        self.current_dir = current_dir
        self.include_dir = include_dir  # set when this file is included by a unit
        self.includes = includes or {}  # label -> (path, config), unit file only
        self.exposed = exposed or set()  # labels readable as include.<label>.* (expose = true)
        self.allow_locals = allow_locals
        self.files_read: set[Path] = {file}
        self.locals = LazyMap(
            "local",
            {
                attr.name: (lambda attr=attr: self.eval(attr.value))
                for block in self.body.blocks_of("locals")
                for attr in block.body.attributes.values()
            },
        )

    # -- whole-config views -------------------------------------------------------------------
    def config_map(self) -> LazyMap:
        """The file as `read_terragrunt_config` / an exposed include presents it."""
        entries: dict[str, Callable[[], Any]] = {"locals": lambda: self.locals}
        for name, attr in self.body.attributes.items():
            entries[name] = lambda attr=attr: self.eval(attr.value)
        for block in self.body.blocks:
            if block.type in ("locals", "include"):
                continue
            if block.type == "dependency":
                entries.setdefault("dependency", lambda: _raise_dependency())
                continue
            if block.labels:
                continue
            entries.setdefault(block.type, lambda block=block: self.block_map(block.body))
        return LazyMap(f"config {self.file.name}", entries)

    def block_map(self, body: Body) -> LazyMap:
        entries: dict[str, Callable[[], Any]] = {
            name: (lambda attr=attr: self.eval(attr.value)) for name, attr in body.attributes.items()
        }
        for block in body.blocks:
            entries.setdefault(block.type, lambda block=block: self.block_map(block.body))
        return LazyMap("block", entries)

    # -- expressions --------------------------------------------------------------------------
    def eval_attribute(self, attr: Attribute) -> Any:
        return materialize(self.eval(attr.value))

    def eval(self, node: tuple) -> Any:
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "tmpl":
            return "".join(part if isinstance(part, str) else _stringify(self.eval(part)) for part in node[1])
        if kind == "var":
            return self.variable(node[1])
        if kind == "attr":
            return _get_attr(self.eval(node[1]), node[2])
        if kind == "index":
            target = self.eval(node[1])
            key = self.eval(node[2])
            if isinstance(target, LazyMap):
                return target.get(str(key))
            try:
                return target[int(key) if isinstance(target, list) else key]
            except (KeyError, IndexError, TypeError, ValueError):
                raise EvaluationError(f"no element {key!r}") from None
        if kind == "call":
            return self.call(node[1], node[2], node[3])
        if kind == "tuple":
            return [materialize(self.eval(item)) for item in node[1]]
        if kind == "object":
            return {_stringify(self.eval(k)): materialize(self.eval(v)) for k, v in node[1]}
        if kind == "cond":
            return self.eval(node[2]) if self.eval(node[1]) else self.eval(node[3])
        if kind == "binop":
            return _binop(node[1], self.eval(node[2]), self.eval(node[3]))
        if kind == "unary":
            value = self.eval(node[2])
            return (not value) if node[1] == "!" else -value
        raise Unresolvable(f"{node[1].replace('_', ' ')} is not evaluated statically")

    def variable(self, name: str) -> Any:
        if name == "local":
            if not self.allow_locals:
                raise EvaluationError("locals cannot be used here (Terragrunt reads include blocks before locals)")
            return self.locals
        if name == "include":
            if self.exposed:
                return _IncludeMap(
                    {label: cfg for label, (_, cfg) in self.includes.items() if label in self.exposed},
                    set(self.includes),
                )
            if self.includes:
                raise EvaluationError("no include is exposed (set expose = true on the include block)")
            raise EvaluationError("`include.*` is only available in a unit's own terragrunt.hcl")
        if name == "dependency":
            _raise_dependency()
        if name in ("feature", "values"):
            raise Unresolvable(f"`{name}.*` is set at run time")
        raise EvaluationError(f"unknown variable {name!r}")

    def call(self, name: str, arg_nodes: tuple, expand: bool) -> Any:
        if name == "try":
            for arg in arg_nodes:
                try:
                    return materialize(self.eval(arg))
                except (Unresolvable, EvaluationError, FunctionError):
                    continue
            raise EvaluationError("try: no argument could be evaluated")
        if name in RUNTIME_FUNCTIONS:
            raise Unresolvable(f"{name}() {RUNTIME_FUNCTIONS[name]}")
        args = [materialize(self.eval(a)) for a in arg_nodes]
        if expand and args:
            args = args[:-1] + list(args[-1])
        handler = getattr(self, f"fn_{name}", None)
        try:
            if handler is not None:
                return handler(*args)
            if name in PURE_FUNCTIONS:
                return PURE_FUNCTIONS[name](*args)
        except (FunctionError, TypeError, ValueError, AttributeError, ZeroDivisionError) as exc:
            raise EvaluationError(f"{name}(): {exc}") from None
        raise Unresolvable(f"function {name}() is not evaluated statically")

    # -- Terragrunt context functions -----------------------------------------------------------
    def fn_get_terragrunt_dir(self) -> str:
        return str(self.current_dir)

    def fn_get_parent_terragrunt_dir(self, label: str | None = None) -> str:
        if self.include_dir is not None:
            return str(self.include_dir)
        return str(self._include_path(label).parent)

    def fn_get_original_terragrunt_dir(self) -> str:
        return str(self.current_dir)

    def fn_get_repo_root(self) -> str:
        current = self.current_dir
        while not (current / ".git").exists():
            if current.parent == current:
                raise EvaluationError("get_repo_root(): not inside a git repository")
            current = current.parent
        return str(current)

    def fn_find_in_parent_folders(self, name: str = "terragrunt.hcl", *fallback: Any) -> str:
        found = self.session.find_in_parent_folders(self.current_dir, name)
        if found is None:
            if fallback:
                return fallback[0]
            raise EvaluationError(f"find_in_parent_folders({name!r}): no such file above {self.current_dir}")
        return str(found)

    def fn_read_terragrunt_config(self, path: str, *default: Any) -> LazyMap:
        target = self.session.path(posixpath.normpath(path if os.path.isabs(path) else os.path.join(str(self.current_dir), path)))
        if str(target) not in self.session.known_files and not target.is_file():
            if default:
                return default[0]
            raise EvaluationError(f"read_terragrunt_config({path!r}): no such file")
        result = self.session.read_config(target)
        self.files_read |= result.files
        return result.value

    def fn_path_relative_to_include(self, label: str | None = None) -> str:
        base = self.include_dir if self.include_dir is not None else self._include_path(label).parent
        return posixpath.relpath(str(self.current_dir), str(base))

    def fn_path_relative_from_include(self, label: str | None = None) -> str:
        base = self.include_dir if self.include_dir is not None else self._include_path(label).parent
        return posixpath.relpath(str(base), str(self.current_dir))

    def _include_path(self, label: str | None) -> Path:
        if not self.includes:
            raise EvaluationError("this config has no include block")
        if label is None:
            if len(self.includes) == 1:
                return next(iter(self.includes.values()))[0]
            if "root" in self.includes:
                return self.includes["root"][0]
            raise EvaluationError("several includes: name one, e.g. path_relative_to_include(\"root\")")
        if label not in self.includes:
            raise EvaluationError(f"no include labelled {label!r}")
        return self.includes[label][0]


class _IncludeMap(LazyMap):
    """`include.<label>`: only exposed includes can be read."""

    def __init__(self, exposed: dict[str, LazyMap], all_labels: set[str]):
        super().__init__("include", {label: (lambda cfg=cfg: cfg) for label, cfg in exposed.items()})
        self._all = all_labels

    def get(self, name: str) -> Any:
        if name in self._all and name not in self._entries:
            raise EvaluationError(f"include {name!r} is not exposed (set expose = true on it)")
        return super().get(name)


def _raise_dependency() -> None:
    raise Unresolvable("dependency outputs are only known after the dependency is applied")


def _get_attr(value: Any, name: str) -> Any:
    if isinstance(value, LazyMap):
        return value.get(name)
    if isinstance(value, dict):
        if name in value:
            return value[name]
        raise EvaluationError(f"no attribute {name!r}")
    raise EvaluationError(f"cannot read attribute {name!r} of a {type(value).__name__}")


def _stringify(value: Any) -> str:
    try:
        return to_string(materialize(value))
    except FunctionError as exc:
        raise EvaluationError(str(exc)) from None


def _binop(op: str, left: Any, right: Any) -> Any:
    left, right = materialize(left), materialize(right)
    try:
        match op:
            case "==":
                return left == right
            case "!=":
                return left != right
            case "<":
                return left < right
            case ">":
                return left > right
            case "<=":
                return left <= right
            case ">=":
                return left >= right
            case "+":
                return left + right
            case "-":
                return left - right
            case "*":
                return left * right
            case "/":
                return left / right
            case "%":
                return left % right
            case "&&":
                return bool(left) and bool(right)
            case "||":
                return bool(left) or bool(right)
    except TypeError as exc:
        raise EvaluationError(f"operator {op}: {exc}") from None
    raise EvaluationError(f"unknown operator {op}")
