"""HCL files → a small, picklable syntax tree the evaluator walks.

python-hcl2 (v8) parses; we keep only its raw Lark tree and fold it into plain tuples. Skipping
python-hcl2's own dict serialisation roughly halves the parse cost (see benchmarks/graph_load.py), and
the tuples pickle compactly for the parse cache.

Node shapes (all tuples, first item is the kind):
    ("lit", value)                       literal: str / int / float / bool / None
    ("tmpl", (part, ...))                string template; parts are str or nodes
    ("var", name)                        a bare identifier: local, include, dependency, ...
    ("attr", node, name)                 node.name
    ("index", node, key_node)            node[key]
    ("call", name, (arg, ...), expand)   function call; expand = trailing "..."
    ("tuple", (node, ...))
    ("object", ((key_node, value_node), ...))
    ("cond", test, then, else)
    ("binop", op, left, right)
    ("unary", op, node)
    ("for_tuple", key, value, coll, expr, cond)
                                         [for key, value in coll : expr if cond]; key / cond may be None
    ("for_object", key, value, coll, key_expr, value_expr, group, cond)
                                         {for ... : key_expr => value_expr... if cond}; group = the "..."
    ("splat", node, full, (step, ...))   node[*]... (full) / node.*... ; step = ("getattr", name) or
                                         ("idx", key_node[, "short"])  ("short" for a legacy `.0`)
    ("opaque", kind)                     template directives, interpolated heredocs: not evaluated

A parsed body is ``Body(attributes={name: Attribute}, blocks=(Block, ...))``.
"""

from __future__ import annotations

import functools
import json
import os
import textwrap
from dataclasses import dataclass
from typing import Any

import hcl2.parser
from hcl2.postlexer import PostLexer
from lark import Lark, Token, Transformer
from lark.exceptions import LarkError, UnexpectedInput


class HclSyntaxError(Exception):
    """The file is not valid HCL; the message names the line and column."""


@dataclass(frozen=True, slots=True)
class Attribute:
    name: str
    value: tuple
    line: int


@dataclass(frozen=True, slots=True)
class Block:
    type: str
    labels: tuple[str, ...]
    body: "Body"
    line: int


@dataclass(frozen=True, slots=True)
class Body:
    attributes: dict[str, Attribute]
    blocks: tuple[Block, ...]

    def blocks_of(self, block_type: str) -> tuple[Block, ...]:
        return tuple(b for b in self.blocks if b.type == block_type)


@functools.lru_cache(maxsize=1)
def _parser() -> Lark:
    # python-hcl2's grammar and post-lexer, without propagate_positions: line numbers come from the
    # tokens, and skipping position bookkeeping makes parsing markedly faster.
    # Building the LALR tables takes a second or more; Lark keeps them in a cache file, which lives
    # in our own (user-owned) cache directory, keyed by the python-hcl2 version.
    grammar_dir = os.path.dirname(hcl2.parser.__file__)
    options = {"parser": "lalr", "propagate_positions": False, "postlex": PostLexer(), "transformer": _Builder()}
    try:
        from ml_clusters.estate.cache import cache_base

        base = cache_base()
        base.mkdir(parents=True, exist_ok=True)
        options["cache"] = str(base / f"hcl2-{hcl2.version.version}.lark")
    except OSError:
        pass  # no writable cache: build the tables each time
    return Lark.open(os.path.join(grammar_dir, "hcl2.lark"), **options)


def parse_hcl(text: str) -> Body:
    """Parse HCL source into a Body. Raises HclSyntaxError with line/column on bad input."""
    try:
        return _parser().parse(text + "\n")
    except UnexpectedInput as exc:
        line = getattr(exc, "line", "?")
        column = getattr(exc, "column", "?")
        token = getattr(exc, "token", None)
        near = f" near {str(token).strip()!r}" if token is not None and str(token).strip() else ""
        raise HclSyntaxError(f"invalid HCL at line {line}, column {column}{near}") from None
    except RecursionError:
        raise HclSyntaxError("expressions nested too deeply to read") from None
    except LarkError as exc:
        raise HclSyntaxError(f"invalid HCL: {str(exc).splitlines()[0]}") from None


class _NL:
    """Marker for newlines/comments; dropped by every rule that sees it."""


_NEWLINE = _NL()


def _values(children: list) -> list:
    """Sub-results only: no tokens (punctuation), no newline markers."""
    return [c for c in children if not isinstance(c, (Token, _NL))]


def _name_of(node: Any) -> str:
    # identifier → ("var", name); keyword / literal_value used as a name → ("lit", value)
    if isinstance(node, Token):
        return str(node)
    value = node[1]
    if value is True or value is False:
        return "true" if value else "false"
    return "null" if value is None else str(value)


class _Builder(Transformer):
    """Builds the node tuples while Lark parses (LALR with an embedded transformer: no parse tree)."""

    def start(self, children):
        return children[0]

    def body(self, children):
        attributes: dict[str, Attribute] = {}
        blocks: list[Block] = []
        for child in children:
            if isinstance(child, Attribute):
                attributes[child.name] = child
            elif isinstance(child, Block):
                blocks.append(child)
        return Body(attributes, tuple(blocks))

    def attribute(self, children):
        name, eq, value = children[0], children[1], children[-1]
        return Attribute(_name_of(name), value, eq.line or 0)

    def block(self, children):
        brace = next(c for c in children if isinstance(c, Token) and c.type == "LBRACE")
        heads = [c for c in children if isinstance(c, tuple)]
        body = next(c for c in children if isinstance(c, Body))
        labels = tuple(h[1] if h[0] in ("lit", "var") else render(h) for h in heads[1:])
        return Block(_name_of(heads[0]), labels, body, brace.line or 0)

    def new_line_or_comment(self, children):
        return _NEWLINE

    def identifier(self, children):
        return ("var", str(children[0]))

    def keyword(self, children):
        return ("lit", str(children[0]))

    def literal_value(self, children):
        return ("lit", {"true": True, "false": False, "null": None}[str(children[0])])

    def int_lit(self, children):
        return ("lit", int(children[0]))

    def float_lit(self, children):
        return ("lit", float(children[0]))

    def string(self, children):
        parts: list[Any] = []
        for part in children:
            if isinstance(part, Token):
                continue  # the quotes
            if part[0] == "directive":
                return ("opaque", "template_directive")
            parts.append(part[1])
        return _template(parts)

    def string_part(self, children):
        piece = children[0]
        if isinstance(piece, Token):
            if piece.type in ("ESCAPED_INTERPOLATION", "ESCAPED_DIRECTIVE"):
                return ("text", str(piece)[1:])
            return ("text", _unescape(str(piece)))
        return piece  # ("interp", node) or ("directive",)

    def interpolation(self, children):
        return ("interp", _values(children)[0])

    def _directive(self, children):
        return ("directive",)

    template_if_start = template_else = template_endif = template_for_start = template_endfor = _directive

    def expr_term(self, children):
        return _values(children)[0]

    def conditional(self, children):
        test, then, otherwise = _values(children)
        return ("cond", test, then, otherwise)

    def binary_op(self, children):
        left, term = _values(children)
        return ("binop", term[1], left, term[2])

    def binary_term(self, children):
        op, right = _values(children)
        return ("bterm", op, right)

    def binary_operator(self, children):
        return str(children[0]).strip()  # the post-lexer may fold a newline into it

    def unary_op(self, children):
        return ("unary", str(children[0]).strip(), children[1])

    def tuple(self, children):
        return ("tuple", tuple(_values(children)))

    def object(self, children):
        return ("object", tuple((e[1], e[2]) for e in _values(children)))

    def object_elem(self, children):
        key, value = _values(children)
        return ("elem", key, value)

    def object_elem_key(self, children):
        values = _values(children)
        if not values:
            return ("lit", str(children[0]))
        node = values[0]
        # A bare identifier key (`vpc_id = ...`) is a literal name, not a variable reference.
        return ("lit", node[1]) if node[0] == "var" else node

    def heredoc_template(self, children):
        return _heredoc(str(children[0]), trim=False)

    def heredoc_template_trim(self, children):
        return _heredoc(str(children[0]), trim=True)

    def function_call(self, children):
        values = _values(children)
        name = values[0][1]
        args: tuple = ()
        expand = False
        for value in values[1:]:
            if value[0] == "args":
                args, expand = value[1], value[2]
        return ("call", name, args, expand)

    def arguments(self, children):
        expand = any(isinstance(c, Token) and c.type == "ELLIPSIS" for c in children)
        return ("args", tuple(_values(children)), expand)

    def index_expr_term(self, children):
        target, index = children
        return ("index", target, index[1])

    def braces_index(self, children):
        return ("idx", _values(children)[0])

    def short_index(self, children):
        return ("idx", ("lit", int(children[-1])), "short")

    def get_attr_expr_term(self, children):
        target, get_attr = children
        return ("attr", target, get_attr[1])

    def get_attr(self, children):
        return ("getattr", _name_of(_values(children)[0]))

    def attr_splat_expr_term(self, children):
        target, splat = children
        return ("splat", target, False, splat[1])

    def full_splat_expr_term(self, children):
        target, splat = children
        return ("splat", target, True, splat[1])

    def attr_splat(self, children):
        return ("steps", tuple(_values(children)))

    full_splat = attr_splat

    def for_intro(self, children):
        values = _values(children)  # identifier, [identifier], collection
        names = tuple(v[1] for v in values[:-1])
        return ("forintro", names[0] if len(names) == 2 else None, names[-1], values[-1])

    def for_cond(self, children):
        return ("forcond", _values(children)[0])

    def for_tuple_expr(self, children):
        values = _values(children)
        intro, expr = values[0], values[1]
        cond = values[2][1] if len(values) > 2 else None
        return ("for_tuple", intro[1], intro[2], intro[3], expr, cond)

    def for_object_expr(self, children):
        values = _values(children)
        intro, key_expr, value_expr = values[0], values[1], values[2]
        group = any(isinstance(c, Token) and c.type == "ELLIPSIS" for c in children)
        cond = values[3][1] if len(values) > 3 else None
        return ("for_object", intro[1], intro[2], intro[3], key_expr, value_expr, group, cond)

    def _opaque(self, children):
        return ("opaque", "expression")

    template_string = _opaque


def _heredoc(raw: str, trim: bool) -> tuple:
    # <<EOF\n...\nEOF\n : the body between the first line and the closing marker.
    lines = raw.split("\n")
    body = "\n".join(lines[1:-2]) + "\n" if len(lines) > 2 else ""
    if trim:
        body = textwrap.dedent(body)
    if "${" not in body and "%{" not in body:
        return ("lit", body)
    # Interpolated heredocs (generated provider files) are never needed to resolve the graph.
    return ("opaque", "heredoc_template")


def _template(parts: list[Any]) -> tuple:
    merged: list[Any] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    if not merged:
        return ("lit", "")
    if len(merged) == 1 and isinstance(merged[0], str):
        return ("lit", merged[0])
    return ("tmpl", tuple(merged))


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
            if nxt == "u" and i + 5 < len(text) + 1:
                try:
                    out.append(chr(int(text[i + 2 : i + 6], 16)))
                    i += 6
                    continue
                except ValueError:
                    pass
        out.append(ch)
        i += 1
    return "".join(out)


def render(node: tuple) -> str:
    """HCL source text for a node (used to show values that stay unresolved)."""
    kind = node[0]
    if kind == "lit":
        return json.dumps(node[1])
    if kind == "var":
        return node[1]
    if kind == "attr":
        return f"{render(node[1])}.{node[2]}"
    if kind == "index":
        return f"{render(node[1])}[{render(node[2])}]"
    if kind == "call":
        return f"{node[1]}({', '.join(render(a) for a in node[2])})"
    if kind == "tmpl":
        return '"' + "".join(p if isinstance(p, str) else "${" + render(p) + "}" for p in node[1]) + '"'
    if kind == "tuple":
        return "[" + ", ".join(render(i) for i in node[1]) + "]"
    if kind == "object":
        return "{" + ", ".join(f"{render(k)} = {render(v)}" for k, v in node[1]) + "}"
    if kind == "cond":
        return f"{render(node[1])} ? {render(node[2])} : {render(node[3])}"
    if kind == "binop":
        return f"{render(node[2])} {node[1]} {render(node[3])}"
    if kind == "unary":
        return f"{node[1]}{render(node[2])}"
    if kind in ("for_tuple", "for_object"):
        names = f"{node[1]}, {node[2]}" if node[1] is not None else node[2]
        cond = node[-1]
        tail = f" if {render(cond)}" if cond is not None else ""
        if kind == "for_tuple":
            return f"[for {names} in {render(node[3])} : {render(node[4])}{tail}]"
        group = "..." if node[6] else ""
        return f"{{for {names} in {render(node[3])} : {render(node[4])} => {render(node[5])}{group}{tail}}}"
    if kind == "splat":
        steps = "".join(
            f".{s[1]}" if s[0] == "getattr" else f".{s[1][1]}" if len(s) > 2 else f"[{render(s[1])}]" for s in node[3]
        )
        return f"{render(node[1])}{'[*]' if node[2] else '.*'}{steps}"
    return f"<{node[1]}>"
