"""Cold loads of large trees: parse files across processes before evaluating."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

from ml_clusters.estate.hclparse import Body, HclSyntaxError, _parser, parse_hcl

# Below this many files to parse, a process pool costs more than it saves.
PARALLEL_THRESHOLD = 400


def _parse_chunk(items: list[tuple[str, bytes]]) -> list[tuple[str, Body | None]]:
    out: list[tuple[str, Body | None]] = []
    for key, data in items:
        try:
            out.append((key, parse_hcl(data.decode("utf-8"))))
        except (HclSyntaxError, UnicodeDecodeError):
            out.append((key, None))  # the serial pass reports it, naming the file
    return out


def workers() -> int:
    configured = os.environ.get("ML_CLUSTERS_PARSE_WORKERS")
    if configured:
        return max(1, int(configured))
    return min(len(os.sched_getaffinity(0)), 8)


def parse_many(sources: dict[str, bytes]) -> dict[str, Body]:
    """Parse {content hash: bytes} in worker processes; bad files are left for the caller."""
    count = workers()
    if len(sources) < PARALLEL_THRESHOLD or count < 2:
        return {}
    _parser()  # build (or load) the tables once, before forking
    items = list(sources.items())
    size = max(50, len(items) // (count * 4))
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    with ProcessPoolExecutor(max_workers=count, mp_context=multiprocessing.get_context("fork")) as pool:
        return {key: body for chunk in pool.map(_parse_chunk, chunks) for key, body in chunk if body is not None}
