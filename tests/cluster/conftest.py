"""Fixtures of the cluster tests (see shared_project.py)."""

from __future__ import annotations

import pytest
from shared_project import SharedData, share_data


@pytest.fixture(scope="session")
def shared_data(tmp_path_factory) -> SharedData:
    """The project pushed to a DVC remote and a fresh clone that pulled it."""
    return share_data(tmp_path_factory.mktemp("dvc"))
