"""The method registry: a pipeline file's `method.name` maps to a `Method` class here.

Adding a method: write its module (config model + implementation), add one line below.
"""

from __future__ import annotations

from typing import Annotated, Union

from pydantic import Field

from methodlib.methods.base import DataInfo, EpochContext, Method, MethodConfig, StepContext
from methodlib.methods.dense import Dense
from methodlib.methods.mc_dropout import MCDropout
from methodlib.methods.sbp import SBP
from methodlib.methods.sparse_vd import SparseVD
from methodlib.methods.vd_ard import VDARD

METHODS: dict[str, type[Method]] = {
    cls.name: cls
    for cls in (
        Dense,
        SparseVD,
        VDARD,
        SBP,
        MCDropout,
    )
}

_configs = tuple(cls.Config for cls in METHODS.values())
if len(_configs) == 1:  # a discriminated union needs two members; pydantic checks the tag anyway
    MethodConfigUnion = _configs[0]
else:
    MethodConfigUnion = Annotated[Union[_configs], Field(discriminator="name")]  # noqa: UP007

__all__ = [
    "METHODS",
    "DataInfo",
    "EpochContext",
    "Method",
    "MethodConfig",
    "MethodConfigUnion",
    "StepContext",
]
