"""Small helpers for validating task-file values with one-line, field-naming errors."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Any

from styx.errors import TaskSpecError

CLUSTER_NAME_RE = re.compile(r"^[a-zA-Z]([-_.a-zA-Z0-9]{0,61}[a-zA-Z0-9])?$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' when a close match exists, else ''."""
    match = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


def fail(field: str, value: Any, expected: str) -> TaskSpecError:
    shown = repr(value) if not isinstance(value, str) else f"'{value}'"
    return TaskSpecError(f"{field}: got {shown}, expected {expected}", field=field)


def check_keys(data: dict[str, Any], allowed: Iterable[str], where: str) -> None:
    allowed = list(allowed)
    for key in data:
        if key not in allowed:
            path = f"{where}.{key}" if where else str(key)
            raise TaskSpecError(
                f"{path}: unknown field{did_you_mean(str(key), allowed)}; "
                f"expected one of: {', '.join(allowed)}",
                field=path,
            )


def as_bool(field: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no"):
        return value.lower() in ("true", "yes")
    raise fail(field, value, "true or false")


def as_str(field: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    raise fail(field, value, "a string")


def as_positive_int(field: str, value: Any, *, allow_zero: bool = False) -> int:
    if isinstance(value, bool):
        raise fail(field, value, "a whole number")
    try:
        number = int(value)
        if isinstance(value, float) and number != value:
            raise ValueError
    except (TypeError, ValueError):
        raise fail(field, value, "a whole number") from None
    if number < 0 or (number == 0 and not allow_zero):
        raise fail(field, value, "a number >= 0" if allow_zero else "a number >= 1")
    return number


def as_number(field: str, value: Any, *, minimum: float = 0.0) -> float:
    if isinstance(value, bool):
        raise fail(field, value, "a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise fail(field, value, "a number") from None
    if number < minimum or number != number:
        raise fail(field, value, f"a number >= {minimum:g}")
    return number


def as_str_dict(
    field: str, value: Any, *, allow_none_values: bool = False
) -> dict[str, str | None]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise fail(field, value, "a mapping of names to values")
    out: dict[str, str | None] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not ENV_NAME_RE.match(key):
            raise fail(f"{field}.{key}", key, "a name of letters, digits and '_'")
        if item is None and allow_none_values:
            out[key] = None
        elif isinstance(item, (str, int, float, bool)):
            out[key] = str(item).lower() if isinstance(item, bool) else str(item)
        else:
            raise fail(f"{field}.{key}", item, "a string or number")
    return out


def check_cluster_name(name: str) -> str:
    if not isinstance(name, str) or not CLUSTER_NAME_RE.match(name):
        raise TaskSpecError(
            f"cluster name {name!r} is invalid; expected 1-63 letters, digits, '-', '_' or '.', "
            "starting with a letter (no spaces or shell characters)",
            field="cluster_name",
        )
    return name
