"""Fixtures of the latent-variable VAE tests."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture
def double_precision():
    """Float64 by default for the test: the bounds are compared to 1e-3 of sums of many terms."""
    dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(dtype)
