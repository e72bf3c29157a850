"""Errors a user can act on: each names the file, the YAML path, the bad value and what was
expected, with the closest valid name for a misspelling."""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ValidationError


class SpecError(ValueError):
    """A pipeline file that cannot run; `problems` are one line each, YAML path first."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source}: invalid pipeline file ({len(problems)} problem(s)):\n{lines}")


class RunError(RuntimeError):
    """A run that cannot go on (bad data, a diverging loss, an unusable checkpoint)."""


def closest(word: str, candidates: Iterable[str]) -> str:
    """' (did you mean 'x'?)' when a candidate is close to `word`, else ''."""
    match = difflib.get_close_matches(str(word), [str(c) for c in candidates], n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else ""


def format_validation_error(
    exc: ValidationError, root: type[BaseModel], origins: dict[str, str] | None = None
) -> list[str]:
    """Turn pydantic's errors into one line each, with dotted YAML paths.

    `origins` maps generated experiment names to the sweep they came from, so an error in a
    sweep point names the sweep the user wrote.
    """
    origins = origins or {}
    lines = []
    for err in exc.errors(include_url=False):
        loc = _yaml_loc(root, err["loc"])
        if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc = (*loc, str((err.get("ctx") or {}).get("discriminator", "name")).strip("'"))
        path = ".".join(str(p) for p in loc) or "<top level>"
        if len(loc) >= 2 and loc[0] == "experiments" and loc[1] in origins:
            path += f" [from {origins[loc[1]]}]"
        lines.append(f"{path}: {_describe(err, root, loc)}")
    return lines


def _describe(err: dict[str, Any], root: type[BaseModel], loc: tuple[Any, ...]) -> str:
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    if kind == "extra_forbidden":
        allowed = _fields_at(root, err["loc"][:-1])
        hint = closest(str(loc[-1]), allowed)
        return f"unknown key {loc[-1]!r}{hint} (allowed: {', '.join(allowed)})"
    if kind == "missing":
        return "required key is missing"
    if kind == "literal_error":
        expected = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return f"{value!r} is not one of {', '.join(expected)}{closest(str(value), expected)}"
    if kind == "union_tag_invalid":
        expected = re.findall(r"'([^']*)'", str(ctx.get("expected_tags", "")))
        tag = ctx.get("tag")
        return f"unknown value {tag!r}{closest(str(tag), expected)} (known: {', '.join(expected)})"
    if kind == "union_tag_not_found":
        return "required key is missing"
    message = err["msg"].removeprefix("Value error, ")
    shown = repr(value)
    return f"{message} (got {shown})" if len(shown) <= 80 else message


def _step(annotation: Any, part: Any) -> tuple[Any, bool]:
    """The annotation one location part down, and whether `part` was a union tag that pydantic
    inserts into locations (`method.dense.lr`) and YAML paths leave out."""
    options = _union_members(annotation)
    if len(options) > 1 and isinstance(part, str):
        tagged = [m for m in options if part in _tags_of(m)]
        if tagged:
            return tagged[0], True
    return _child(annotation, part), False


def _yaml_loc(root: type[BaseModel], loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop the union tags pydantic inserts into locations (`method.dense.lr` -> `method.lr`)."""
    out: list[Any] = []
    annotation: Any = root
    for part in loc:
        annotation, is_tag = _step(annotation, part)
        if not is_tag:
            out.append(part)
    return tuple(out)


def _fields_at(root: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Keys of the model at pydantic's location `loc` (tags included, so a union member's own)."""
    annotation: Any = root
    for part in loc:
        annotation, _ = _step(annotation, part)
    models = [m for m in _union_members(annotation) if _is_model(m)]
    return list(models[0].model_fields) if models else []


def _child(annotation: Any, part: Any) -> Any:
    for member in _union_members(annotation):
        if _is_model(member) and part in member.model_fields:
            return member.model_fields[part].annotation
        origin = typing.get_origin(member)
        if origin in (dict, list):
            return typing.get_args(member)[-1]
    return None


def _union_members(annotation: Any) -> list[Any]:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = []
        for arg in typing.get_args(annotation):
            members.extend(_union_members(arg))
        return members
    return [annotation]


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _tags_of(model: Any) -> set[Any]:
    """Values of the model's discriminator (its first Literal field)."""
    if not _is_model(model):
        return set()
    for field in model.model_fields.values():
        if typing.get_origin(field.annotation) is typing.Literal:
            return set(typing.get_args(field.annotation))
    return set()
