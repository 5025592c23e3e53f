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
    ("opaque", kind)                     for-expressions, splats, template directives: not evaluated

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
from lark import Lark, Token, Tree
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
    options = {"parser": "lalr", "propagate_positions": False, "postlex": PostLexer()}
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
        tree = _parser().parse(text + "\n")
    except UnexpectedInput as exc:
        line = getattr(exc, "line", "?")
        column = getattr(exc, "column", "?")
        token = getattr(exc, "token", None)
        near = f" near {str(token).strip()!r}" if token is not None and str(token).strip() else ""
        raise HclSyntaxError(f"invalid HCL at line {line}, column {column}{near}") from None
    except (LarkError, RecursionError) as exc:
        raise HclSyntaxError(f"invalid HCL: {str(exc).splitlines()[0]}") from None
    try:
        return _Folder(text).body(tree.children[0])
    except RecursionError:
        raise HclSyntaxError("expressions nested too deeply to read") from None


_BINARY_OPS = {"==", "!=", "<", ">", "<=", ">=", "+", "-", "*", "/", "%", "&&", "||"}


class _Folder:
    """Folds python-hcl2's Lark tree into the node tuples above."""

    def __init__(self, source: str):
        self.source = source

    @staticmethod
    def line(tree: Tree) -> int:
        for token in tree.scan_values(lambda v: isinstance(v, Token)):
            return token.line or 0
        return 0

    def body(self, tree: Tree) -> Body:
        attributes: dict[str, Attribute] = {}
        blocks: list[Block] = []
        for child in tree.children:
            if not isinstance(child, Tree):
                continue
            if child.data == "attribute":
                name = self.name(child.children[0])
                value_tree = child.children[-1]
                attributes[name] = Attribute(name, self.expr(value_tree), self.line(child))
            elif child.data == "block":
                parts = [c for c in child.children if isinstance(c, Tree) and c.data != "new_line_or_comment"]
                *heads, body_tree = parts
                block_type = self.name(heads[0])
                labels = tuple(self.label(h) for h in heads[1:])
                blocks.append(Block(block_type, labels, self.body(body_tree), self.line(child)))
        return Body(attributes, tuple(blocks))

    @staticmethod
    def name(tree: Tree | Token) -> str:
        if isinstance(tree, Token):
            return str(tree)
        return str(tree.children[0])

    def label(self, tree: Tree) -> str:
        if tree.data == "string":
            node = self.string(tree)
            return node[1] if node[0] == "lit" else render(node)
        return self.name(tree)

    def expr(self, tree: Tree | Token) -> tuple:
        if isinstance(tree, Token):
            return ("lit", str(tree))
        kind = tree.data
        children = [c for c in tree.children if not (isinstance(c, Tree) and c.data == "new_line_or_comment")]
        if kind == "expr_term":
            inner = [c for c in children if isinstance(c, Tree)]
            return self.expr(inner[0])
        if kind == "int_lit":
            return ("lit", int(children[0]))
        if kind == "float_lit":
            return ("lit", float(children[0]))
        if kind == "literal_value":
            return ("lit", {"true": True, "false": False, "null": None}[str(children[0])])
        if kind == "string":
            return self.string(tree)
        if kind in ("heredoc_template", "heredoc_template_trim"):
            return self.heredoc(str(children[0]), trim=kind.endswith("trim"))
        if kind == "identifier":
            return ("var", str(children[0]))
        if kind == "keyword":
            return ("lit", str(children[0]))
        if kind == "get_attr_expr_term":
            target, get_attr = children
            return ("attr", self.expr(target), self.name(get_attr.children[-1]))
        if kind == "index_expr_term":
            target, index = children
            if index.data == "short_index":
                key: tuple = ("lit", int(index.children[-1]))
            else:
                key = self.expr([c for c in index.children if isinstance(c, Tree)][0])
            return ("index", self.expr(target), key)
        if kind == "function_call":
            name_tree, *rest = children
            name = self.name(name_tree)
            args: tuple = ()
            expand = False
            for part in rest:
                if isinstance(part, Tree) and part.data == "arguments":
                    arg_trees = [c for c in part.children if isinstance(c, Tree) and c.data != "new_line_or_comment"]
                    args = tuple(self.expr(a) for a in arg_trees)
                    expand = any(isinstance(c, Token) and c.type == "ELLIPSIS" for c in part.children)
            return ("call", name, args, expand)
        if kind == "tuple":
            return ("tuple", tuple(self.expr(c) for c in children if isinstance(c, Tree)))
        if kind == "object":
            items = []
            for elem in children:
                if isinstance(elem, Tree) and elem.data == "object_elem":
                    key_tree, value_tree = [c for c in elem.children if isinstance(c, Tree)]
                    items.append((self.object_key(key_tree), self.expr(value_tree)))
            return ("object", tuple(items))
        if kind == "conditional":
            test, then, otherwise = [c for c in children if isinstance(c, Tree)]
            return ("cond", self.expr(test), self.expr(then), self.expr(otherwise))
        if kind == "binary_op":
            left, term = [c for c in children if isinstance(c, Tree)]
            op_tree, right = [c for c in term.children if isinstance(c, Tree) and c.data != "new_line_or_comment"]
            op = str(op_tree.children[0]).strip()  # the post-lexer may fold a newline into it
            return ("binop", op, self.expr(left), self.expr(right))
        if kind == "unary_op":
            op, operand = children
            return ("unary", str(op).strip(), self.expr(operand))
        return ("opaque", str(kind))

    def object_key(self, tree: Tree) -> tuple:
        inner = [c for c in tree.children if isinstance(c, Tree)]
        if not inner:
            return ("lit", str(tree.children[0]))
        node = self.expr(inner[0])
        # A bare identifier key (`vpc_id = ...`) is a literal name, not a variable reference.
        if node[0] == "var":
            return ("lit", node[1])
        return node

    def string(self, tree: Tree) -> tuple:
        parts: list[Any] = []
        for part in tree.children:
            if not isinstance(part, Tree):
                continue  # the quotes
            piece = part.children[0]
            if isinstance(piece, Token):
                if piece.type == "ESCAPED_INTERPOLATION":
                    parts.append(str(piece)[1:])
                elif piece.type == "ESCAPED_DIRECTIVE":
                    parts.append(str(piece)[1:])
                else:
                    parts.append(_unescape(str(piece)))
            elif piece.data == "interpolation":
                expr_tree = [c for c in piece.children if isinstance(c, Tree)][0]
                parts.append(self.expr(expr_tree))
            else:
                return ("opaque", "template_directive")
        return _template(parts)

    def heredoc(self, raw: str, trim: bool) -> tuple:
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
    return f"<{node[1]}>"
