"""A small strict schema language for the config: every key known, every type checked.

Specs: a python type (bool, int, float, str), `Choice(...)`, `ListOf(spec)`, `MapOf(spec)`,
a dict {key: spec} for a nested block (keys may be `Opt(...)`-wrapped... all keys optional
unless listed in `Required`), `Any`, or `OneOf(spec, spec)` for alternative shapes.
Errors are collected as (code, path, message, suggestion) and located by config.py.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any as _Any


@dataclass
class SchemaError:
    code: str            # E001 unknown policy kind, E002 unknown key, E003 chain without block, E004 type, E005 required
    path: str            # "policy.pii-detector.actions"
    message: str
    suggestion: str | None = None
    line: int | None = None
    column: int | None = None


class Choice:
    def __init__(self, *values: str):
        self.values = values


class ListOf:
    def __init__(self, item: _Any):
        self.item = item


class MapOf:
    def __init__(self, value: _Any):
        self.value = value


class OneOf:
    """Alternative shapes (e.g. agent-firewall simple vs expanded): the first that fits wins."""

    def __init__(self, *specs: _Any):
        self.specs = specs


class Required(dict):
    """A block with required keys: Required({"name": str, ...}, required={"name"})."""

    def __init__(self, fields: dict, required: set[str]):
        super().__init__(fields)
        self.required = required


Any = object()
Number = (int, float)


def suggest(word: str, options) -> str | None:
    match = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=0.6)
    return match[0] if match else None


def _type_name(spec: _Any) -> str:
    if spec is bool:
        return "a boolean (true/false)"
    if spec is int:
        return "an integer"
    if spec in (float, Number):
        return "a number"
    if spec is str:
        return "a string"
    if isinstance(spec, Choice):
        return "one of [" + ", ".join(spec.values) + "]"
    if isinstance(spec, ListOf):
        return "a list"
    if isinstance(spec, (dict, MapOf)):
        return "a mapping"
    return "a valid value"


def validate(value: _Any, spec: _Any, path: str, errors: list[SchemaError]) -> None:
    if spec is Any:
        return
    if isinstance(spec, OneOf):
        best: list[SchemaError] | None = None
        for alt in spec.specs:
            errs: list[SchemaError] = []
            validate(value, alt, path, errs)
            if not errs:
                return
            if best is None or len(errs) < len(best):
                best = errs
        errors.extend(best or [])
        return
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            errors.append(SchemaError("E004", path, f"expected {_type_name(spec)}, got {type(value).__name__}"))
            return
        for key, sub in value.items():
            if key not in spec:
                hint = suggest(key, spec.keys())
                valid = ", ".join(str(k) for k in spec.keys())
                errors.append(SchemaError(
                    "E002", f"{path}.{key}" if path else str(key),
                    f"Unknown key '{key}'" + (f" in {path}" if path else ""),
                    f"Did you mean '{hint}'?" if hint else f"Valid keys are: {valid}"))
                continue
            validate(sub, spec[key], f"{path}.{key}" if path else str(key), errors)
        for req in getattr(spec, "required", ()):
            if req not in value:
                errors.append(SchemaError("E005", f"{path}.{req}" if path else req, f"Missing required key '{req}'"))
        return
    if isinstance(spec, MapOf):
        if not isinstance(value, dict):
            errors.append(SchemaError("E004", path, f"expected a mapping, got {type(value).__name__}"))
            return
        for key, sub in value.items():
            validate(sub, spec.value, f"{path}.{key}", errors)
        return
    if isinstance(spec, ListOf):
        if not isinstance(value, list):
            errors.append(SchemaError("E004", path, f"expected a list, got {type(value).__name__}"))
            return
        for i, sub in enumerate(value):
            validate(sub, spec.item, f"{path}[{i}]", errors)
        return
    if isinstance(spec, Choice):
        if value not in spec.values:
            hint = suggest(value, spec.values)
            errors.append(SchemaError("E004", path, f"expected one of [{', '.join(spec.values)}], got {value!r}",
                                      f"Did you mean '{hint}'?" if hint else None))
        return
    ok = isinstance(value, spec) and not (spec in (int, float, Number) and isinstance(value, bool))
    if spec is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        errors.append(SchemaError("E004", path, f"expected {_type_name(spec)}, got {type(value).__name__} {value!r}"))
