"""`dense`: ordinary maximum-likelihood training, the baseline every method is compared with."""

from __future__ import annotations

from typing import Literal

from methodlib.methods.base import Method, MethodConfig


class DenseConfig(MethodConfig):
    name: Literal["dense"] = "dense"


class Dense(Method):
    name = "dense"
    Config = DenseConfig
