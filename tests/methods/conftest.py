"""Shared set-up of the method tests."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """Tiny networks gain nothing from threads, and on a busy 2-core machine a second thread
    makes every step wait for a core (10× slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
