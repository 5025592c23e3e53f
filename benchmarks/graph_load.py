"""Graph load: serial python-hcl2 parse (anchor) vs our cold and warm load to a Definitions.

    .venv/bin/python benchmarks/graph_load.py [--sizes 25,1000,5000] [--repeat 3]

For each synthetic live tree (realistic include / locals / dependency shapes, see
tests/estate/synthetic.py) prints the median of:
  (a) anchor: `hcl2.load` of every .hcl file, one after another (python-hcl2's own API);
  (b) cold:   empty parse cache → load_estate → Definitions with the asset graph resolved
              (the parser's LALR tables are kept, as python-hcl2 keeps its own for the anchor);
  (c) warm:   same tree again with the cache in place.
The last two columns split out the estate part (discover + parse/evaluate or cache hit), the rest
being Dagster building the multi-asset and resolving its asset graph.
Targets: warm <= 1.0 s at 5,000 units; cold <= 0.5 x anchor.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.estate.synthetic import write_tree  # noqa: E402

CHILD = r"""
import sys, time, os
from pathlib import Path
mode, live, cache = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
import hcl2
import dagster
from ml_clusters.estate import load_estate
from ml_clusters.assets.terragrunt_units import build_unit_defs
from ml_clusters.translator import TerragruntTranslator
start = time.perf_counter()
if mode == "anchor":
    for path in sorted(live.rglob("*.hcl")):
        with open(path) as handle:
            hcl2.load(handle)
    print(0.0, time.perf_counter() - start)
else:
    os.environ["ML_CLUSTERS_CACHE_DIR"] = cache
    estate = load_estate(live)
    estate_done = time.perf_counter()
    defs = build_unit_defs(estate, TerragruntTranslator())
    defs.resolve_asset_graph()
    print(estate_done - start, time.perf_counter() - start)
"""


def run_once(mode: str, live: Path, cache: Path) -> tuple[float, float]:
    """(seconds to the Estate, seconds to the resolved Definitions)."""
    # A fresh interpreter per measurement: nothing warm in memory, imports excluded from the timing.
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(live), str(cache)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    estate_s, total_s = proc.stdout.strip().splitlines()[-1].split()
    return float(estate_s), float(total_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="25,1000,5000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(
        f"{'units':>6} {'files':>6} {'anchor s':>9} {'cold s':>8} {'warm s':>8} {'cold/anchor':>12}"
        f" {'warm/anchor':>12} {'cold estate s':>14} {'warm estate s':>14}"
    )
    for size in [int(s) for s in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            live = write_tree(Path(tmp), size)
            files = len(list(live.rglob("*.hcl")))
            cache = Path(tmp) / "cache"
            anchor, cold, warm = [], [], []
            for _ in range(args.repeat):
                anchor.append(run_once("anchor", live, cache))
                # Cold = no parse cache. The parser's LALR tables stay (built once per install, like
                # python-hcl2's own table cache that the anchor uses).
                for entry in cache.glob("*/"):
                    shutil.rmtree(entry, ignore_errors=True)
                cold.append(run_once("cold", live, cache))
                warm.append(run_once("warm", live, cache))
            a = statistics.median(t for _, t in anchor)
            c, w = (statistics.median(t for _, t in runs) for runs in (cold, warm))
            ce, we = (statistics.median(e for e, _ in runs) for runs in (cold, warm))
            print(
                f"{size:>6} {files:>6} {a:>9.3f} {c:>8.3f} {w:>8.3f} {c / a:>12.2f} {w / a:>12.2f}"
                f" {ce:>14.3f} {we:>14.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
