"""Static evaluation of the Terragrunt expressions that decide the graph.

Terragrunt evaluates an included file *as part of the including unit*: `get_terragrunt_dir()` and
`find_in_parent_folders()` answer for the unit's directory, while `local.*` refers to the file's own
locals. A `read_terragrunt_config()` file is evaluated from its own directory, so its value is the same
for every unit and is computed once per load — unless it calls `get_original_terragrunt_dir()` (the
reading unit's directory, also through nested reads): then it is evaluated once per reading unit.

A value only known at run time raises `Unresolvable` everywhere it is needed: `try()` skips only
ordinary errors, never an `Unresolvable` argument, and a map with such an entry cannot be materialized
(a `lookup(map, key, default)` would otherwise pick a wrong default, hence a wrong edge).
Operators follow HCL's conversions (numeric strings for arithmetic, "true"/"false" for bools); a
wrong operand is an `EvaluationError`, never a Python exception.

For-expressions (tuple and object, with `if` and grouping `...`) and splats (`x[*].a`, `x.*.a`) follow
HCL: maps iterate in lexical key order, a null splat source is [], any other non-list a one-element
list. Iteration variables live in a nested, lexical environment (`env`): they shadow outer names only
inside the expression, and a local evaluated from inside it never sees them.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ml_clusters.estate.functions import PURE_FUNCTIONS, RUNTIME_FUNCTIONS, FunctionError, to_string
from ml_clusters.estate.hclparse import Attribute, Body
from ml_clusters.estate.model import EstateError


class Unresolvable(Exception):
    """The value is only known at run time (dependency outputs, get_env, ...)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class EvaluationError(Exception):
    """The expression is wrong (unknown local, bad function argument, ...)."""


# What a best-effort evaluation (inputs, informational locals, code_version's file list) may ignore;
# EstateError is a file read by read_terragrunt_config that cannot be parsed.
BEST_EFFORT_ERRORS = (Unresolvable, EvaluationError, FunctionError, RecursionError, EstateError)
# touch() also swallows evaluator gaps: it only records files, and must never add a traceback.
_TOUCH_ERRORS = (*BEST_EFFORT_ERRORS, TypeError, ValueError, AttributeError, KeyError, IndexError, ArithmeticError)


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
        """The whole map as plain values. An entry that cannot be evaluated raises (Unresolvable or
        EvaluationError): leaving it out would let `lookup(map, key, default)` pick a wrong default."""
        return {name: materialize(self.get(name)) for name in self._entries}

    def resolve_known(self) -> dict[str, Any]:
        """Best effort, for informational values only (never the graph): entries that fail are left out."""
        out = {}
        for name in self._entries:
            try:
                out[name] = materialize(self.get(name))
            except BEST_EFFORT_ERRORS:
                continue
        return out

    def touch(self) -> None:
        """Evaluate every entry once, ignoring failures, so every file it reads is recorded."""
        for name in self._entries:
            try:
                _touch(self.get(name))
            except _TOUCH_ERRORS:
                continue


def _touch(value: Any) -> None:
    if isinstance(value, LazyMap):
        value.touch()
    elif isinstance(value, dict):
        for item in value.values():
            _touch(item)
    elif isinstance(value, list):
        for item in value:
            _touch(item)


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
    scope: "Scope | None" = None
    mentions_original: bool = False  # the file itself calls get_original_terragrunt_dir()

    @property
    def uses_original(self) -> bool:
        """The value depends on which unit reads the file (get_original_terragrunt_dir, maybe nested)."""
        return self.mentions_original or (self.scope is not None and self.scope.uses_original)


class Session:
    """State shared by all units of one load: parsed files and read_terragrunt_config results."""

    def __init__(self, root: Path, parse: Callable[[Path], Body]):
        self.root = root
        self.parse = parse
        self._reads: dict[tuple[Path, Path | None], ReadResult] = {}
        self._mentions: dict[Path, bool] = {}
        self._parents: dict[tuple[str, str, bool], str | None] = {}
        self.known_files: set[str] = set()  # files discovered under the root: no stat needed
        # Paths looked for and not found that the tree key would not notice appearing (not an .hcl
        # file of the tree): a warm cache must check they are still absent.
        self.absent: set[str] = set()
        self.covered: Callable[[str], bool] = lambda path: False
        self._paths: dict[str, Path] = {}

    def find_in_parent_folders(self, start_dir: Path, name: str, files_only: bool = False) -> Path | None:
        """Terragrunt's search: from the parent of `start_dir` upwards (memoised per directory).
        Like Terragrunt (os.Stat) it matches a directory too, unless `files_only`."""
        found = self._find_from(os.path.dirname(str(start_dir)), name, files_only)
        return self.path(found) if found is not None else None

    def note_absent(self, path: str) -> None:
        if not self.covered(path):
            self.absent.add(path)

    def path(self, text: str) -> Path:
        """One shared Path object per file: cheaper to build, and pickled once in the cache."""
        interned = self._paths.get(text)
        if interned is None:
            interned = self._paths[text] = Path(text)
        return interned

    def _find_from(self, directory: str, name: str, files_only: bool) -> str | None:
        key = (directory, name, files_only)
        if key not in self._parents:
            candidate = os.path.join(directory, name)
            if candidate in self.known_files or (os.path.isfile(candidate) if files_only else os.path.exists(candidate)):
                self._parents[key] = candidate
            else:
                self.note_absent(candidate)
                parent = os.path.dirname(directory)
                self._parents[key] = None if parent == directory else self._find_from(parent, name, files_only)
        return self._parents[key]

    def read_config(self, path: Path, original_dir: Path | None = None) -> ReadResult:
        """The file evaluated from its own directory, once per load; `get_original_terragrunt_dir()`
        answers for the reading unit (`original_dir`), so a file using it is evaluated once per unit."""
        shared = self._reads.get((path, None))
        if shared is None:
            shared = self._reads[(path, None)] = self._evaluate(path, original_dir)
        if original_dir is None or not shared.uses_original or shared.scope.original_dir == original_dir:
            return shared
        key = (path, original_dir)
        if key not in self._reads:
            self._reads[key] = self._evaluate(path, original_dir)
        return self._reads[key]

    def _evaluate(self, path: Path, original_dir: Path | None) -> ReadResult:
        scope = Scope(self, path, current_dir=path.parent, original_dir=original_dir)
        # Evaluate the locals now so nested reads are known before the files are recorded.
        scope.locals.touch()
        if path not in self._mentions:
            self._mentions[path] = _calls(scope.body, "get_original_terragrunt_dir")
        return ReadResult(scope.config_map(), frozenset(scope.files_read), scope, self._mentions[path])


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
        original_dir: Path | None = None,
    ):
        self.session = session
        self.file = file
        self.body = session.parse(file)
        self.current_dir = current_dir
        self.original_dir = original_dir or current_dir  # the unit Terragrunt runs in
        self.uses_original = False
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

    def eval(self, node: tuple, env: dict[str, Any] | None = None) -> Any:
        """The node's value. `env` holds the iteration variables of the enclosing for-expressions
        (lexical: a local evaluated from inside a for-expression does not see them)."""
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "tmpl":
            return "".join(part if isinstance(part, str) else _stringify(self.eval(part, env)) for part in node[1])
        if kind == "var":
            if env is not None and node[1] in env:
                return env[node[1]]
            return self.variable(node[1])
        if kind == "attr":
            return _get_attr(self.eval(node[1], env), node[2])
        if kind == "index":
            return _index(self.eval(node[1], env), self.eval(node[2], env))
        if kind == "call":
            return self.call(node[1], node[2], node[3], env)
        if kind == "tuple":
            return [materialize(self.eval(item, env)) for item in node[1]]
        if kind == "object":
            return {_stringify(self.eval(k, env)): materialize(self.eval(v, env)) for k, v in node[1]}
        if kind == "cond":
            if _to_bool(self.eval(node[1], env), "condition"):
                return self.eval(node[2], env)
            return self.eval(node[3], env)
        if kind == "binop":
            return _binop(node[1], self.eval(node[2], env), self.eval(node[3], env))
        if kind == "unary":
            value = materialize(self.eval(node[2], env))
            if node[1] == "!":
                return not _to_bool(value, "operator !")
            return -_to_number(value, f"operator {node[1]}")
        if kind == "for_tuple":
            return [materialize(self.eval(node[4], inner)) for inner in self._for_scopes(node, env)]
        if kind == "for_object":
            return self._for_object(node, env)
        if kind == "splat":
            return self._splat(node, env)
        raise Unresolvable(f"{node[1].replace('_', ' ')} is not evaluated statically")

    def _for_scopes(self, node: tuple, env: dict[str, Any] | None):
        """One nested variable scope per element that passes the `if` (HCL: lists give index, value;
        maps give key, value in lexical key order)."""
        key_name, value_name, cond = node[1], node[2], node[-1]
        collection = materialize(self.eval(node[3], env))
        if isinstance(collection, list):
            items: list[tuple[Any, Any]] = list(enumerate(collection))
        elif isinstance(collection, dict):
            items = sorted(collection.items(), key=lambda item: item[0])
        elif collection is None:
            raise EvaluationError("for expression: cannot iterate over a null value")
        else:
            kind_name = _type_name(collection)
            raise EvaluationError(f"for expression: cannot iterate over a {kind_name} (a list or map is required)")
        for key, value in items:
            inner = dict(env) if env else {}
            if key_name is not None:
                inner[key_name] = key
            inner[value_name] = value
            if cond is not None and not _to_bool(self.eval(cond, inner), "for expression's if condition"):
                continue
            yield inner

    def _for_object(self, node: tuple, env: dict[str, Any] | None) -> dict[str, Any]:
        key_node, value_node, group = node[4], node[5], node[6]
        out: dict[str, Any] = {}
        for inner in self._for_scopes(node, env):
            key = materialize(self.eval(key_node, inner))
            if key is None or isinstance(key, (list, dict)):
                kind_name = _type_name(key)
                raise EvaluationError(f"for expression: an object key must be a string, not {kind_name}")
            key = _stringify(key)
            value = materialize(self.eval(value_node, inner))
            if group:
                out.setdefault(key, []).append(value)
            elif key in out:
                raise EvaluationError(
                    f"for expression: duplicate object key {key!r} (add ... after the value to group values by key)"[:300]
                )
            else:
                out[key] = value
        return dict(sorted(out.items(), key=lambda item: item[0]))

    def _splat(self, node: tuple, env: dict[str, Any] | None) -> list[Any]:
        """`x[*].a[0]` applies `.a[0]` to each element; `x.*.a[0]` only `.a` (the index then applies to
        the resulting list). A null source gives [], any other non-list value a one-element list."""
        source, full, steps = self.eval(node[1], env), node[2], node[3]
        rest: tuple = ()
        if not full:
            for i, step in enumerate(steps):
                if step[0] == "idx" and len(step) == 2:  # a bracketed index ends an attribute-only splat
                    steps, rest = steps[:i], steps[i:]
                    break
        if source is None:
            result: list[Any] = []
        else:
            items = source if isinstance(source, list) else [source]
            result = [materialize(self._traverse(item, steps, env)) for item in items]
        return self._traverse(result, rest, env)

    def _traverse(self, value: Any, steps: tuple, env: dict[str, Any] | None) -> Any:
        for step in steps:
            if step[0] == "getattr":
                value = _get_attr(value, step[1])
            else:
                value = _index(value, self.eval(step[1], env))
        return value

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

    def call(self, name: str, arg_nodes: tuple, expand: bool, env: dict[str, Any] | None = None) -> Any:
        if name == "try":
            for arg in arg_nodes:
                try:
                    return materialize(self.eval(arg, env))
                except (EvaluationError, FunctionError):
                    continue  # an Unresolvable argument is not an error: try() must not skip it
            raise EvaluationError("try: no argument could be evaluated")
        if name in RUNTIME_FUNCTIONS:
            raise Unresolvable(f"{name}() {RUNTIME_FUNCTIONS[name]}")
        args = [materialize(self.eval(a, env)) for a in arg_nodes]
        if expand and args:
            if not isinstance(args[-1], list):
                raise EvaluationError(f"{name}(): the argument before ... must be a list, not {_type_name(args[-1])}")
            args = args[:-1] + list(args[-1])
        handler = getattr(self, f"fn_{name}", None)
        try:
            if handler is not None:
                return handler(*args)
            if name in PURE_FUNCTIONS:
                return PURE_FUNCTIONS[name](*args)
        except (FunctionError, TypeError, ValueError, AttributeError, KeyError, IndexError, ArithmeticError) as exc:
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
        self.uses_original = True
        return str(self.original_dir)

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
        text = posixpath.normpath(path if os.path.isabs(path) else os.path.join(str(self.current_dir), path))
        if text not in self.session.known_files and os.path.isdir(text):
            text = os.path.join(text, "terragrunt.hcl")  # like Terragrunt: a directory means its unit config
        target = self.session.path(text)
        if text not in self.session.known_files and not target.is_file():
            self.session.note_absent(text)
            if default:
                return default[0]
            raise EvaluationError(f"read_terragrunt_config({path!r}): no such file")
        result = self.session.read_config(target, self.original_dir)
        if result.uses_original:
            self.uses_original = True
        self.files_read |= result.files
        return result.value

    def fn_path_relative_to_include(self, label: str | None = None) -> str:
        if self.include_dir is None and not self.includes:
            return "."  # Terragrunt's answer for a config without include
        base = self.include_dir if self.include_dir is not None else self._include_path(label).parent
        return posixpath.relpath(str(self.current_dir), str(base))

    def fn_path_relative_from_include(self, label: str | None = None) -> str:
        if self.include_dir is None and not self.includes:
            return "."
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


def _calls(body: Body, name: str) -> bool:
    """Whether any expression of the file calls the function `name`."""

    def in_node(node: Any) -> bool:
        if isinstance(node, tuple):
            if len(node) > 1 and node[0] == "call" and node[1] == name:
                return True
            return any(in_node(item) for item in node)
        return False

    def in_body(b: Body) -> bool:
        return any(in_node(a.value) for a in b.attributes.values()) or any(in_body(blk.body) for blk in b.blocks)

    try:
        return in_body(body)
    except RecursionError:
        return True  # too deep to tell: assume it does (correct, merely evaluated once per unit)


def _raise_dependency() -> None:
    raise Unresolvable("dependency outputs are only known after the dependency is applied")


def _index(target: Any, key: Any) -> Any:
    if isinstance(target, LazyMap):
        return target.get(str(key))
    if not isinstance(target, (list, dict)):
        raise EvaluationError(f"cannot index a {_type_name(target)} with {key!r}"[:200])
    try:
        return target[int(key) if isinstance(target, list) else key]
    except (KeyError, IndexError, TypeError, ValueError):
        raise EvaluationError(f"no element {key!r}"[:200]) from None


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


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "map"
    if value is None:
        return "null"
    return type(value).__name__


def _to_number(value: Any, what: str) -> int | float:
    """HCL's conversion to number: numbers, and strings that spell one ("8080")."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            number = None
        if number is not None and number == number and number not in (float("inf"), float("-inf")):
            return number
        raise EvaluationError(f"{what}: a number is required, not the string {value!r}")
    raise EvaluationError(f"{what}: a number is required, not a {_type_name(value)}")


def _to_bool(value: Any, what: str) -> bool:
    """HCL's conversion to bool: true/false and the strings "true"/"false"."""
    value = materialize(value)
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise EvaluationError(f"{what}: a bool is required, not {_type_name(value)} {value!r}"[:200])


def _binop(op: str, left: Any, right: Any) -> Any:
    left, right = materialize(left), materialize(right)
    what = f"operator {op}"
    try:
        match op:
            case "==":
                return left == right
            case "!=":
                return left != right
            case "&&":
                return _to_bool(left, what) and _to_bool(right, what)
            case "||":
                return _to_bool(left, what) or _to_bool(right, what)
        a, b = _to_number(left, what), _to_number(right, what)
        match op:
            case "<":
                return a < b
            case ">":
                return a > b
            case "<=":
                return a <= b
            case ">=":
                return a >= b
            case "+":
                return a + b
            case "-":
                return a - b
            case "*":
                return a * b
            case "/":
                return a / b
            case "%":
                return a % b
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise EvaluationError(f"{what}: {exc}") from None
    raise EvaluationError(f"unknown operator {op}")
