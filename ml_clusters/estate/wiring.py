"""Wiring check: do the units' dependency references and inputs match their modules' interfaces?

Terragrunt only finds a mistyped ``dependency.networking.outputs.vpc_idd`` or an input the module
does not declare when it runs the unit (and with ``mock_outputs`` on ``plan``, not even then). This
check finds them statically, for every unit of the live tree:

- every ``dependency.X.outputs.Y`` referenced by a unit (in its own terragrunt.hcl or in a file it
  includes, e.g. ``_envcommon/*.hcl``) names a dependency block X of that unit, and Y is an output
  of X's module (``output "Y"`` in the module's ``*.tf``);
- every ``mock_outputs`` key of a dependency block is such an output too (a stale mock hides broken
  wiring on ``plan``);
- every input the unit passes (its merged ``inputs``) is a ``variable`` of its module, and every
  module variable without a default gets an input.

Each violation names the file and line, found by a text scan of the config files. Modules are read
with python-hcl2. Pure Python, no Dagster: the asset-check layer reuses :func:`check_wiring`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import hcl2

from ml_clusters.estate.model import Estate, Unit

__all__ = ["ModuleInterface", "WiringViolation", "check_wiring", "module_interface"]


@dataclass(frozen=True, order=True)
class WiringViolation:
    """One mismatch between a unit's config and a module's interface."""

    file: Path
    line: int
    message: str
    unit: str = field(default="", compare=False)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(frozen=True)
class ModuleInterface:
    """The variables and outputs a Terraform module declares (across all of its ``*.tf`` files)."""

    dir: Path
    variables: frozenset[str]
    required_variables: frozenset[str]
    outputs: frozenset[str]
    error: WiringViolation | None = None


_IDENT = r"[A-Za-z_][A-Za-z0-9_-]*"
# dependency.X.outputs.Y and dependency.X.outputs["Y"]
_DEP_REF = re.compile(rf"\bdependency\.({_IDENT})\.outputs(?:\.({_IDENT})|\[\s*\"([^\"]+)\"\s*\])")
_DEP_BLOCK = re.compile(rf'^\s*dependency\s+"({_IDENT})"\s*\{{')
_INPUTS_OPEN = re.compile(r"^\s*inputs\s*=\s*\{")
_MOCKS_OPEN = re.compile(r"^\s*mock_outputs\s*=\s*\{")
_KEY = re.compile(rf'^\s*(?:({_IDENT})|"([^"]+)")\s*=(?!=)')


def check_wiring(estate: Estate) -> list[WiringViolation]:
    """Every wiring violation of the estate, sorted by file and line (empty when all is well)."""
    modules: dict[Path, ModuleInterface] = {}
    texts: dict[Path, list[tuple[str, str]]] = {}
    violations: set[WiringViolation] = set()

    def interface_of(unit: Unit) -> ModuleInterface | None:
        if unit.module_dir is None:  # remote module source: nothing local to compare with
            return None
        key = unit.module_dir.resolve()
        if key not in modules:
            modules[key] = module_interface(key)
        return modules[key]

    def scanned(path: Path) -> list[tuple[str, str]]:
        if path not in texts:
            try:
                texts[path] = _scan(path.read_text(encoding="utf-8"))
            except OSError:
                texts[path] = []
        return texts[path]

    def lines_of(path: Path) -> list[str]:
        return [code for code, _ in scanned(path)]

    def reference_lines_of(path: Path) -> list[str]:
        return [refs for _, refs in scanned(path)]

    for unit in sorted(estate.units.values(), key=lambda u: u.path):
        own_file = unit.dir / "terragrunt.hcl"
        # The unit's own file first: it overrides what includes declare.
        config_files = [own_file, *(f for f in unit.files if Path(f) != own_file)]
        module = interface_of(unit)
        if module is not None and module.error is not None:
            violations.add(WiringViolation(module.error.file, module.error.line, module.error.message, unit.path))
            module = None

        deps = {dep.name: dep for dep in unit.dependencies}

        # 1. dependency.X.outputs.Y references and mock_outputs keys
        for path in config_files:
            lines = lines_of(Path(path))
            for lineno, text in enumerate(reference_lines_of(Path(path)), start=1):
                for match in _DEP_REF.finditer(text):
                    dep_name = match.group(1)
                    output = match.group(2) or match.group(3)
                    problem = _check_dependency_output(estate, unit, deps, dep_name, output, interface_of)
                    if problem:
                        violations.add(WiringViolation(Path(path), lineno, problem, unit.path))
            for dep_name, lineno, mock_key in _mock_output_keys(lines):
                if dep_name not in deps:
                    continue
                problem = _check_dependency_output(estate, unit, deps, dep_name, mock_key, interface_of)
                if problem:
                    message = problem.replace(" uses ", " mocks ", 1) + " in mock_outputs"
                    violations.add(WiringViolation(Path(path), lineno, message, unit.path))

        # 2. inputs vs. module variables
        if module is None:
            continue
        input_lines = _input_key_lines([(Path(p), lines_of(Path(p))) for p in config_files])
        for key in sorted(unit.inputs):
            if key not in module.variables:
                where, lineno = input_lines.get(key, (own_file, 1))
                violations.add(
                    WiringViolation(
                        where,
                        lineno,
                        f"unit {unit.path} passes input {key!r} but module {_module_label(unit)} "
                        f"declares no such variable",
                        unit.path,
                    )
                )
        for name in sorted(module.required_variables - set(unit.inputs)):
            violations.add(
                WiringViolation(
                    own_file,
                    1,
                    f"unit {unit.path} does not set {name!r}, a variable of module {_module_label(unit)} "
                    f"without a default",
                    unit.path,
                )
            )

    return sorted(violations)


def module_interface(module_dir: Path) -> ModuleInterface:
    """Read the variables and outputs of the module in ``module_dir`` with python-hcl2."""
    variables: set[str] = set()
    required: set[str] = set()
    outputs: set[str] = set()
    if not module_dir.is_dir():
        return ModuleInterface(
            module_dir,
            frozenset(),
            frozenset(),
            frozenset(),
            WiringViolation(module_dir, 1, f"module directory {module_dir} does not exist"),
        )
    for tf in sorted(module_dir.glob("*.tf")):
        try:
            with tf.open(encoding="utf-8") as fh:
                parsed = hcl2.load(fh)
        except Exception as exc:  # python-hcl2 raises lark errors of several kinds
            line = getattr(exc, "line", None) or 1
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return ModuleInterface(
                module_dir,
                frozenset(),
                frozenset(),
                frozenset(),
                WiringViolation(tf, int(line), f"cannot parse module file: {first}"),
            )
        for block in parsed.get("variable", []):
            for raw_name, body in block.items():
                name = _unquote(raw_name)
                variables.add(name)
                if not isinstance(body, dict) or "default" not in body:
                    required.add(name)
        for block in parsed.get("output", []):
            for raw_name in block:
                outputs.add(_unquote(raw_name))
    return ModuleInterface(module_dir, frozenset(variables), frozenset(required), frozenset(outputs))


def _check_dependency_output(estate, unit, deps, dep_name, output, interface_of) -> str | None:
    dep = deps.get(dep_name)
    if dep is None:
        declared = ", ".join(sorted(deps)) or "none"
        return (
            f"unit {unit.path} references dependency.{dep_name}.outputs.{output} but declares no dependency "
            f"{dep_name!r} (declared: {declared})"
        )
    target = estate.units.get(dep.path)
    if target is None:
        return None  # the reader reports dangling config_paths itself
    module = interface_of(target)
    if module is None or module.error is not None:
        return None
    if output not in module.outputs:
        known = ", ".join(sorted(module.outputs)) or "none"
        return (
            f"unit {unit.path} uses dependency.{dep_name}.outputs.{output}, but module "
            f"{_module_label(target)} of {target.path} has no output {output!r} (outputs: {known})"
        )
    return None


def _mock_output_keys(lines: list[str]) -> list[tuple[str, int, str]]:
    """(dependency name, line, key) for every top-level key of every mock_outputs map."""
    found = []
    current_dep = None
    dep_depth = 0
    depth = 0
    mock_depth = None
    for lineno, text in enumerate(lines, start=1):
        block = _DEP_BLOCK.match(text)
        if block and depth == 0:
            current_dep, dep_depth = block.group(1), depth
        if current_dep is not None and mock_depth is None and _MOCKS_OPEN.match(text):
            mock_depth = depth + 1
        elif mock_depth is not None and depth == mock_depth:
            key = _KEY.match(text)
            if key:
                found.append((current_dep, lineno, key.group(1) or key.group(2)))
        depth += _depth_change(text)
        if mock_depth is not None and depth < mock_depth:
            mock_depth = None
        if current_dep is not None and depth <= dep_depth:
            current_dep = None
    return found


def _input_key_lines(files: list[tuple[Path, list[str]]]) -> dict[str, tuple[Path, int]]:
    """Where each top-level ``inputs`` key is assigned; earlier files win (the unit's own first)."""
    where: dict[str, tuple[Path, int]] = {}
    for path, lines in files:
        depth = 0
        inputs_depth = None
        for lineno, text in enumerate(lines, start=1):
            if inputs_depth is None and depth == 0 and _INPUTS_OPEN.match(text):
                inputs_depth = 1
            elif inputs_depth is not None and depth == inputs_depth:
                key = _KEY.match(text)
                if key:
                    where.setdefault(key.group(1) or key.group(2), (path, lineno))
            depth += _depth_change(text)
            if inputs_depth is not None and depth < inputs_depth:
                inputs_depth = None
    return where


def _depth_change(text: str) -> int:
    """Net bracket depth change of a comment-stripped line, ignoring brackets inside strings."""
    change = 0
    in_string = False
    escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char in "{[(":
            change += 1
        elif char in "}])":
            change -= 1
    return change


def _scan(source: str) -> list[tuple[str, str]]:
    """Per line: (text without comments, text without comments and literal string content).

    Strings, template interpolations with nested strings (``"${f("x")}"``) and heredocs are
    respected, so a ``#`` inside a string is not taken for a comment. Heredoc bodies are kept whole
    (they are templates whose interpolations Terragrunt evaluates).
    """
    out: list[tuple[str, str]] = []
    # code | str | interp (inside "${") | brace (a { within an interpolation)
    stack: list[str] = ["code"]
    in_block_comment = False
    heredoc_end: str | None = None
    for line in source.splitlines():
        if heredoc_end is not None:
            out.append((line, line))
            if line.strip() == heredoc_end:
                heredoc_end = None
            continue
        code: list[str] = []
        refs: list[str] = []
        i = 0
        n = len(line)
        while i < n:
            char = line[i]
            nxt = line[i + 1] if i + 1 < n else ""
            if in_block_comment:
                if char == "*" and nxt == "/":
                    in_block_comment = False
                    i += 2
                else:
                    i += 1
                continue
            state = stack[-1]
            if state == "str":
                if char == "\\":
                    code.append(line[i : i + 2])
                    refs.append("  ")
                    i += 2
                    continue
                if char == "$" and nxt == "{":
                    code.append("${")
                    refs.append("${")
                    stack.append("interp")
                    i += 2
                    continue
                code.append(char)
                if char == '"':
                    refs.append(char)
                    stack.pop()
                else:
                    refs.append(" ")
                i += 1
                continue
            # code, or inside an interpolation
            if char == "#" or (char == "/" and nxt == "/"):
                break
            if char == "/" and nxt == "*":
                in_block_comment = True
                i += 2
                continue
            if state == "code" and char == "<" and line.startswith("<<", i):
                marker = re.match(r"<<-?\s*([A-Za-z_][A-Za-z0-9_]*)", line[i:])
                if marker:
                    heredoc_end = marker.group(1)
                    code.append(line[i:])
                    refs.append(line[i:])
                    break
            code.append(char)
            refs.append(char)
            if char == '"':
                stack.append("str")
            elif char == "{" and state in ("interp", "brace"):
                stack.append("brace")
            elif char == "}" and state in ("interp", "brace"):
                stack.pop()
            i += 1
        out.append(("".join(code), "".join(refs)))
        # a quoted string never spans lines in HCL (heredocs aside); recover from malformed input
        if stack[-1] == "str":
            stack = ["code"]
    return out


def _unquote(name: str) -> str:
    return name[1:-1] if len(name) >= 2 and name[0] == name[-1] == '"' else name


def _module_label(unit: Unit) -> str:
    return unit.module or (unit.module_dir.name if unit.module_dir else "?")
