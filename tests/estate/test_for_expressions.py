"""For-expressions and splats are evaluated statically, with HCL's semantics."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml_clusters.estate import EstateError, load_estate
from ml_clusters.estate.evaluator import EvaluationError, Scope, Session, Unresolvable, materialize
from ml_clusters.estate.hclparse import parse_hcl
from tests.estate.test_reader import write

LOCALS = """
  deps = ["vpc", "iam"]
  m = { b = "2", a = "1", c = "3" }
  objs = [{ name = "x", tags = ["t1", "t2"], sub = { id = 1 } }, { name = "y", tags = ["t3"], sub = { id = 2 } }]
  one = { name = "solo" }
  nothing = null
  flags = ["true", "false", "true"]
  d = "outer"
  inner = "${local.d}"
"""


@pytest.fixture(autouse=True)
def no_terragrunt(monkeypatch):
    monkeypatch.setenv("ML_CLUSTERS_TERRAGRUNT", "terragrunt-not-installed-for-tests")


def evaluate(tmp_path: Path, expression: str, extra: str = "") -> object:
    config = tmp_path / "t.hcl"
    config.write_text(f"locals {{\n{LOCALS}{extra}\n  result = {expression}\n}}\n")
    session = Session(tmp_path, lambda path: parse_hcl(path.read_text()))
    return materialize(Scope(session, config, current_dir=tmp_path).locals.get("result"))


@pytest.mark.parametrize(
    "expression, expected",
    [
        ('[for d in local.deps : "../${d}"]', ["../vpc", "../iam"]),
        ('[for i, d in local.deps : "${i}-${d}"]', ["0-vpc", "1-iam"]),
        ("[for v in local.m : v]", ["1", "2", "3"]),  # maps iterate in lexical key order
        ('[for k, v in local.m : "${k}=${v}"]', ["a=1", "b=2", "c=3"]),
        ('[for d in local.deps : d if d != "iam"]', ["vpc"]),
        ("[for i, f in local.flags : i if f]", [0, 2]),  # "true"/"false" convert to bool
        ("[for d in [] : d]", []),
        ("[for d in local.deps : upper(d)]", ["VPC", "IAM"]),
        ("[for o in local.objs : [for t in o.tags : t]]", [["t1", "t2"], ["t3"]]),
        ('[\n  for d in local.deps :\n  d\n  if d == "vpc"\n]', ["vpc"]),
    ],
)
def test_tuple_for_expressions(tmp_path: Path, expression: str, expected: object):
    assert evaluate(tmp_path, expression) == expected


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("{for d in local.deps : d => upper(d)}", {"vpc": "VPC", "iam": "IAM"}),
        ("{for k, v in local.m : v => k}", {"1": "a", "2": "b", "3": "c"}),
        ('{for k, v in local.m : k => v if k != "b"}', {"a": "1", "c": "3"}),
        ("{for i, d in local.deps : d => i}", {"vpc": 0, "iam": 1}),
        ("{for d in local.deps : length(d) => d...}", {"3": ["vpc", "iam"]}),
        ('{for k, v in local.m : (v == "2" ? "even" : "odd") => k...}', {"even": ["b"], "odd": ["a", "c"]}),
        ("{for o in local.objs : o.name => o.sub.id}", {"x": 1, "y": 2}),
        ("{for d in [] : d => d}", {}),
    ],
)
def test_object_for_expressions(tmp_path: Path, expression: str, expected: object):
    assert evaluate(tmp_path, expression) == expected


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("local.objs[*].name", ["x", "y"]),
        ("local.objs.*.name", ["x", "y"]),
        ("local.objs[*].sub.id", [1, 2]),
        ("local.objs[*].tags[0]", ["t1", "t3"]),  # a full splat applies the index to each element
        ("local.objs.*.tags[0]", ["t1", "t2"]),  # an attribute splat ends at the index: the first element
        ("local.objs.*.tags.0", ["t1", "t3"]),  # the legacy `.0` index stays inside the splat
        ("local.objs[*]", [{"name": "x", "tags": ["t1", "t2"], "sub": {"id": 1}}, {"name": "y", "tags": ["t3"], "sub": {"id": 2}}]),
        ("local.one[*].name", ["solo"]),  # a non-list value is a one-element list
        ("local.one.*.name", ["solo"]),
        ("local.nothing[*].name", []),  # null is an empty list
        ("length(local.nothing[*])", 0),
        ('[for n in local.objs[*].name : "../${n}"]', ["../x", "../y"]),
    ],
)
def test_splats(tmp_path: Path, expression: str, expected: object):
    assert evaluate(tmp_path, expression) == expected


def test_iteration_variables_are_lexically_scoped(tmp_path: Path):
    # `d` shadows nothing outside: local.inner is evaluated in its own scope and sees local.d only
    # through `local.`; the bare name `d` stays unknown outside the for-expression.
    assert evaluate(tmp_path, "[for d in local.deps : local.inner]") == ["outer", "outer"]
    assert evaluate(tmp_path, '[for d in local.deps : "${local.d}:${d}"]') == ["outer:vpc", "outer:iam"]
    assert evaluate(tmp_path, "[for d in local.deps : [for d in [1] : d]]") == [[1], [1]]  # inner shadows outer
    with pytest.raises(EvaluationError, match="unknown variable 'd'"):
        evaluate(tmp_path, "[[for d in local.deps : d], d]")
    with pytest.raises(EvaluationError, match="unknown variable"):
        # a local referring to an iteration variable does not see it, even when used inside the loop
        evaluate(tmp_path, "[for d in local.deps : local.bad]", extra="  bad = d\n")


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("{for d in local.deps : length(d) => d}", "duplicate object key '3'"),
        ('[for d in local.deps : d if "maybe"]', "bool"),
        ("[for d in local.deps : d if null]", "bool"),
        ("[for d in local.nothing : d]", "null"),
        ('[for c in "abc" : c]', "string"),
        ("[for d in 3 : d]", "number"),
        ("{for o in local.objs : o.tags => o.name}", "object key must be a string"),
        ("{for o in local.deps : null => o}", "object key must be a string"),
        ("local.objs[*].missing", "no attribute 'missing'"),
        ("local.deps[*].name", "cannot read attribute"),
        ("local.objs[*].name[0]", "cannot index a string"),  # [0] applies to each name, a string
        ('[for d in local.deps : d + 1]', "operator +"),
    ],
)
def test_wrong_operands_are_evaluation_errors(tmp_path: Path, expression: str, expected: str):
    with pytest.raises(EvaluationError) as info:
        evaluate(tmp_path, expression)
    assert expected in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    "expression",
    [
        '[for d in local.deps : get_env("X")]',
        "[for d in local.deps : d if get_env(\"X\") == d]",
        "{for d in local.deps : d => dependency.vpc.outputs.id}",
        "{for d in local.deps : get_env(d) => d...}",
        "[for d in dependency.vpc.outputs.ids : d]",
        "dependency.vpc.outputs.subnets[*].id",
        "[for d in local.deps : try(get_env(d), d)]",
    ],
)
def test_run_time_values_inside_stay_unresolvable(tmp_path: Path, expression: str):
    with pytest.raises(Unresolvable):
        evaluate(tmp_path, expression)


def test_computed_dependency_paths_give_exactly_the_expected_edges(tmp_path: Path):
    live = write(
        tmp_path / "live",
        {
            "vpc/terragrunt.hcl": "locals {}\n",
            "iam/terragrunt.hcl": "locals {}\n",
            "dns/terragrunt.hcl": "locals {}\n",
            "skip/terragrunt.hcl": "locals {}\n",
            "common.hcl": 'locals {\n  services = [{ dir = "iam", on = true }, { dir = "skip", on = "false" }]\n}\n',
            "app/terragrunt.hcl": (
                "locals {\n"
                '  deps = ["vpc", "vpc", "skip"]\n'
                '  common = read_terragrunt_config(find_in_parent_folders("common.hcl"))\n'
                '  by_name = {for d in ["vpc", "dns"] : d => "../${d}"}\n'
                "}\n"
                "dependencies {\n"
                '  paths = concat([for d in local.deps : "../${d}" if d != "skip"],\n'
                '    [for s in local.common.locals.services : "../${s.dir}" if s.on])\n'
                "}\n"
                'dependency "dns" {\n'
                '  config_path = [for k, v in local.by_name : v if k == "dns"][0]\n'
                "}\n"
                'dependency "first" {\n'
                "  config_path = local.common.locals.services.*.dir[0] == \"iam\" ? \"../iam\" : \"../skip\"\n"
                "}\n"
            ),
            "web/terragrunt.hcl": (
                'locals {\n  targets = [{ path = "../app" }]\n}\n'
                "dependencies {\n  paths = local.targets[*].path\n}\n"
            ),
        },
    )
    estate = load_estate(live, cache=False)
    assert estate.edges == {("app", "vpc"), ("app", "iam"), ("app", "dns"), ("web", "app")}
    assert set(estate.units["app"].extra_dependencies) == {"vpc", "iam"}
    assert {d.path for d in estate.units["app"].dependencies} == {"dns", "iam"}


def test_a_run_time_value_in_a_computed_path_still_stops_the_load(tmp_path: Path):
    live = write(
        tmp_path / "live",
        {
            "vpc/terragrunt.hcl": "locals {}\n",
            "app/terragrunt.hcl": 'dependencies {\n  paths = [for d in ["vpc"] : "../${get_env("X")}"]\n}\n',
        },
    )
    with pytest.raises(EstateError) as info:
        load_estate(live, cache=False)
    assert "cannot be resolved statically" in str(info.value) and "\n" not in str(info.value)


def test_a_wrong_for_expression_is_a_one_line_error(tmp_path: Path):
    live = write(
        tmp_path / "live",
        {
            "vpc/terragrunt.hcl": "locals {}\n",
            "app/terragrunt.hcl": 'dependencies {\n  paths = {for d in ["vpc", "vpc"] : d => "../${d}"}\n}\n',
        },
    )
    with pytest.raises(EstateError) as info:
        load_estate(live, cache=False)
    message = str(info.value)
    assert "app/terragrunt.hcl" in message and "duplicate object key 'vpc'" in message and "\n" not in message
