"""Datasets: sources, deterministic preparation and loading of the prepared splits."""

from methodlib.data.prepare import prepare_dataset
from methodlib.data.prepared import Prepared, Split, load_prepared

__all__ = ["Prepared", "Split", "load_prepared", "prepare_dataset"]
