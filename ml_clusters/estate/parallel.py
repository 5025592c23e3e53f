"""Parse many files at once across processes (cold loads of large trees)."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from ml_clusters.estate.hclparse import Body, HclSyntaxError, parse_hcl
from ml_clusters.estate.model import EstateError

# Below this many files a process pool costs more than it saves.
PARALLEL_THRESHOLD = 200


def _parse_chunk(items: list[tuple[str, bytes]]) -> list[tuple[str, Body | str]]:
    out: list[tuple[str, Body | str]] = []
    for key, data in items:
        try:
            out.append((key, parse_hcl(data.decode("utf-8"))))
        except (HclSyntaxError, UnicodeDecodeError) as exc:
            out.append((key, str(exc) if isinstance(exc, HclSyntaxError) else "not UTF-8 text"))
    return out


def parse_many(sources: dict[str, bytes], paths: dict[str, Path]) -> dict[str, Body]:
    """Parse {content_hash: bytes}; raise EstateError naming the first bad file."""
    items = list(sources.items())
    workers = min(os.cpu_count() or 1, 8)
    if len(items) < PARALLEL_THRESHOLD or workers < 2:
        results = _parse_chunk(items)
    else:
        size = max(50, len(items) // (workers * 4))
        chunks = [items[i : i + size] for i in range(0, len(items), size)]
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            results = [pair for chunk in pool.map(_parse_chunk, chunks) for pair in chunk]
    bodies: dict[str, Body] = {}
    for key, body in sorted(results, key=lambda pair: str(paths[pair[0]])):
        if isinstance(body, str):
            raise EstateError(paths[key], body)
        bodies[key] = body
    return bodies
