"""The parse cache: parsed files by content hash, and the last whole estate by tree hash.

A warm load re-parses nothing that did not change; an unchanged tree skips evaluation entirely. The
tree key (reader.py) covers every .hcl file under the live root and the reader's own source code; the
estate also records hashes of everything else it read (non-.hcl or outside files, module trees, data
files) and paths it looked for and did not find, all re-checked before the cached estate is reused.
Stored under `ML_CLUSTERS_CACHE_DIR` (default `~/.cache/ml-clusters`), one file per live root.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from pathlib import Path
from types import MappingProxyType

from ml_clusters.estate.hclparse import Body
from ml_clusters.estate.model import Estate

_FORMAT = 5  # bump when the node shapes or the model change


def cache_base() -> Path:
    """`ML_CLUSTERS_CACHE_DIR`, else `$XDG_CACHE_HOME/ml-clusters` (`~/.cache/ml-clusters`)."""
    base = os.environ.get("ML_CLUSTERS_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "ml-clusters"
    )
    return Path(base)


def cache_dir_for(root: Path) -> Path:
    return cache_base() / hashlib.sha256(str(root).encode()).hexdigest()[:16]


class ParseCache:
    """Two files: the last estate (read first; enough when nothing changed) and parsed bodies."""

    def __init__(self, directory: Path | None):
        self.directory = directory
        self._bodies: dict[str, Body] | None = None if directory is not None else {}
        self._dirty = False

    def _path(self, name: str) -> Path:
        assert self.directory is not None
        return self.directory / f"{name}-v{_FORMAT}.pickle"

    def _read(self, name: str):
        try:
            with open(self._path(name), "rb") as handle:
                data = pickle.load(handle)
        except (OSError, pickle.PickleError, EOFError, AttributeError, ImportError, TypeError, ValueError):
            return None  # a missing or stale cache is simply rebuilt
        return data

    def _write(self, name: str, data) -> None:
        assert self.directory is not None
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(data, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, self._path(name))  # atomic: concurrent loaders see the old or the new file

    def get(self, key: str) -> Body | None:
        if self._bodies is None:  # loaded only when something has to be evaluated again
            data = self._read("bodies")
            self._bodies = data if isinstance(data, dict) else {}
        return self._bodies.get(key)

    def put(self, key: str, body: Body) -> None:
        if self._bodies is None:
            self.get(key)
        self._bodies[key] = body
        self._dirty = True

    def load_estate(self, tree_key: str) -> Estate | None:
        if self.directory is None:
            return None
        blob = self._read("estate")
        if not isinstance(blob, tuple) or blob[0] != tree_key:
            return None
        _, root, units, stacks, outside_hashes = blob
        estate = Estate(root=root, units=MappingProxyType(units), stacks=stacks)
        object.__setattr__(estate, "_outside_hashes", outside_hashes)
        return estate

    def save(self, estate: Estate, tree_key: str, outside_hashes: dict[str, str]) -> None:
        if self.directory is None:
            return
        try:
            if self._dirty and self._bodies is not None:
                self._write("bodies", self._bodies)
                self._dirty = False
            self._write("estate", (tree_key, estate.root, dict(estate.units), estate.stacks, dict(outside_hashes)))
        except OSError:
            pass  # caching is an optimisation; a read-only home must not break loading
