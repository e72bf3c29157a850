"""The prepared dataset's folder, as its writers (`prepare.py`, `fortune_collections.py`) and
its reader (`prepared.py`) agree on it: the split files, the text and grammar files, the format
version and the checksum every file is recorded with in `meta.json`. One module that all three
import, so that none of them reaches into another for it."""

from __future__ import annotations

import hashlib
from pathlib import Path

SPLITS = ("train", "val", "test")
OOD_SPLIT = "ood"
FORMAT_VERSION = 1
TEXTS_FILE = "texts.json"
GRAMMAR_FILE = "grammar.json"  # the `grammar` source's grammar: its exact judge


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
