"""The data hash: the one key every cache of something derived from data/ is named by.

The catalog (`inputs.catalog`) and the estimate context (`model.context`) both name their cache
files by it and compare it with the files they read, so it lives below both (the base imports no
wing).
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def hash_contents(contents: dict[Path, bytes]) -> str:
    """The data hash: SHA-256 of each file's name and bytes, in name order (16 hex digits)."""
    digest = hashlib.sha256()
    for path in sorted(contents):
        digest.update(path.name.encode())
        digest.update(contents[path])
    return digest.hexdigest()[:16]
