"""The parse cache: a warm load re-parses nothing that did not change."""

from pathlib import Path

import pytest

import ml_clusters.estate.reader as reader
from ml_clusters.estate import load_estate
from tests.estate.synthetic import write_tree


@pytest.fixture
def counted_parses(monkeypatch):
    parsed: list[str] = []
    real = reader.parse_hcl

    def counting(text: str):
        parsed.append(text)
        return real(text)

    monkeypatch.setattr(reader, "parse_hcl", counting)
    return parsed


def test_warm_load_reparses_only_changed_files(tmp_path: Path, counted_parses):
    live = write_tree(tmp_path, 40)
    cache = tmp_path / "cache"
    cold = load_estate(live, cache_dir=cache)
    # Each distinct file content is parsed once (identical files share one parse).
    assert len(counted_parses) == len({p.read_text() for p in live.rglob("*.hcl")})

    counted_parses.clear()
    warm = load_estate(live, cache_dir=cache)
    assert counted_parses == []
    assert warm.units == cold.units and warm.edges == cold.edges

    changed = live / "account-0/region-0/cluster-0003/terragrunt.hcl"
    changed.write_text(changed.read_text().replace('name = "acct0-r0-cluster-0003"', 'name = "renamed"'))
    counted_parses.clear()
    after = load_estate(live, cache_dir=cache)
    assert len(counted_parses) == 1 and 'name = "renamed"' in counted_parses[0]
    assert after.units["account-0/region-0/cluster-0003"].inputs["name"] == "renamed"
    assert (
        after.units["account-0/region-0/cluster-0003"].content_hash
        != cold.units["account-0/region-0/cluster-0003"].content_hash
    )


def test_module_change_invalidates_cached_estate(tmp_path: Path):
    live = write_tree(tmp_path, 10)
    cache = tmp_path / "cache"
    before = load_estate(live, cache_dir=cache).units["account-0/region-0/cluster-0002"].content_hash
    (tmp_path / "modules/cluster/main.tf").write_text("# changed\n")
    after = load_estate(live, cache_dir=cache).units["account-0/region-0/cluster-0002"].content_hash
    assert before != after


def test_corrupt_cache_is_rebuilt(tmp_path: Path):
    live = write_tree(tmp_path, 10)
    cache = tmp_path / "cache"
    load_estate(live, cache_dir=cache)
    for path in cache.iterdir():
        path.write_bytes(b"garbage")
    assert len(load_estate(live, cache_dir=cache).units) == 10


def test_parallel_parse_gives_the_same_estate_and_names_bad_files(tmp_path: Path, monkeypatch):
    import ml_clusters.estate.parallel as parallel
    from ml_clusters.estate import EstateError

    live = write_tree(tmp_path, 60)
    serial = load_estate(live, cache=False)
    monkeypatch.setattr(parallel, "PARALLEL_THRESHOLD", 1)
    monkeypatch.setenv("ML_CLUSTERS_PARSE_WORKERS", "2")
    assert load_estate(live, cache=False).units == serial.units
    bad = live / "account-1/region-1/storage/terragrunt.hcl"
    bad.write_text("locals {\n")
    with pytest.raises(EstateError, match="account-1/region-1/storage/terragrunt.hcl: invalid HCL"):
        load_estate(live, cache=False)
