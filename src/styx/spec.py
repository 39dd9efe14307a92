"""Small helpers for validating task-file values with one-line, field-naming errors."""

from __future__ import annotations

import difflib
import math
import re
import reprlib
from collections.abc import Iterable
from typing import Any

from styx.errors import TaskSpecError

SHOWN_CHARS = 200  # at most this much of a bad value is quoted in an error message
_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxstring = SHOWN_CHARS
_REPR.maxother = SHOWN_CHARS
_REPR.maxlong = 60  # a 400-digit number shows as its first and last digits

# The range of every number a task file holds. The loader, the JSON Schema (styx schema) and the
# README's "Task file limits" table all read these, so they cannot drift apart.
MAX_NUM_NODES = 512  # every provider can create this many in one launch (AWS, GCP: 1000/call)
MAX_ACCELERATORS = 64  # per node; the largest machines have 16, multi-host slices 64
MAX_CPUS = 4096.0  # per node
MAX_MEMORY_GB = 65536.0  # per node (64 TiB)
MAX_MEMORY_PER_CPU_GB = 1024.0  # memory: '8x'
MAX_DISK_GB = 65536  # 64 TiB
MAX_HOURLY_COST = 100_000.0  # dollars per hour, for the whole cluster
MAX_TOTAL_COST = 10_000_000.0  # dollars: a cluster's spending cap (resources.max_total_cost)
MAX_RESTARTS = 1000  # job_recovery.max_restarts_on_errors
MAX_PRIORITY = 1000
MAX_AUTOSTOP_MINUTES = 525_600  # one year
MAX_EXIT_CODE = 255

CLUSTER_NAME_RE = re.compile(r"^[a-zA-Z]([-_.a-zA-Z0-9]{0,61}[a-zA-Z0-9])?$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' when a close match exists, else ''."""
    word = str(word)
    if len(word) > 100:
        return ""  # nobody mistypes a 100-character field name; difflib is quadratic
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


def clip(text: str, limit: int = SHOWN_CHARS) -> str:
    """``text`` on one line, cut to ``limit`` characters (saying how much was left out)."""
    text = " ".join(str(text).split()) if "\n" in str(text) or "\r" in str(text) else str(text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


def shown(value: Any) -> str:
    """A bad value as an error message quotes it: bounded in size whatever the value is."""
    if isinstance(value, str):
        return f"'{clip(value)}'"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**60:
        if abs(value) >= 10**4000:  # str() of it would raise (Python's 4,300-digit limit)
            return "a number of over 4000 digits"
        return f"a {len(str(abs(value)))}-digit number"
    try:
        return clip(_REPR.repr(value))
    except ValueError:  # a nested int too long to print
        return f"a {type(value).__name__} holding a value too large to show"


def fail(field: str, value: Any, expected: str) -> TaskSpecError:
    return TaskSpecError(
        f"{clip(field, 120)}: got {shown(value)}, expected {expected}", field=field
    )


def check_keys(data: dict[str, Any], allowed: Iterable[str], where: str) -> None:
    allowed = list(allowed)
    for key in data:
        if key not in allowed:
            path = clip(f"{where}.{key}" if where else str(key), 120)
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
        if "\x00" in value:
            raise fail(field, value, "text without NUL characters")
        return value
    raise fail(field, value, "a string")


def as_positive_int(
    field: str, value: Any, *, allow_zero: bool = False, maximum: int = 2**31 - 1
) -> int:
    """A whole number in ``0 or 1 .. maximum``; floats only when whole and finite."""
    low = 0 if allow_zero else 1
    expected = f"a whole number from {low} to {maximum}"
    if isinstance(value, bool):
        raise fail(field, value, expected)
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise fail(field, value, expected)
        if not low <= value <= maximum:  # compared as a float: no 309-digit integer is made
            raise fail(field, value, expected)
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if not text.isascii() or not text.isdigit() or len(text) > 18:
            raise fail(field, value, expected)
        value = int(text)
    if not isinstance(value, int):
        raise fail(field, value, expected)
    if not low <= value <= maximum:
        raise fail(field, value, expected)
    return value


def as_number(field: str, value: Any, *, minimum: float = 0.0, maximum: float = 1e9) -> float:
    """A finite number in ``minimum .. maximum`` (no nan, no infinity, no 400-digit values)."""
    expected = f"a number from {minimum:g} to {maximum:g}"
    if isinstance(value, bool):
        raise fail(field, value, expected)
    if isinstance(value, int):
        if not minimum <= value <= maximum:  # before float(): a huge int overflows a float
            raise fail(field, value, expected)
        return float(value)
    if isinstance(value, str) and len(value) > 40:
        raise fail(field, value, expected)
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise fail(field, value, expected) from None
    if not math.isfinite(number) or not minimum <= number <= maximum:
        raise fail(field, value, expected)
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
            raise fail(f"{field}.{clip(str(key), 60)}", key, "a name of letters, digits and '_'")
        if item is None and allow_none_values:
            out[key] = None
        elif isinstance(item, bool):
            out[key] = str(item).lower()
        elif isinstance(item, str):
            out[key] = as_str(f"{field}.{key}", item)
        elif _is_plain_number(item):
            out[key] = str(item)
        else:
            raise fail(f"{field}.{key}", item, "a string or a finite number")
    return out


def check_idle_minutes(option: str, value: Any) -> float:
    """An autostop delay given on the command line: 0 .. MAX_AUTOSTOP_MINUTES, finite."""
    return as_number(option, value, minimum=0.0, maximum=float(MAX_AUTOSTOP_MINUTES))


def _is_plain_number(item: Any) -> bool:
    """A finite float, or an int short enough to print (not a 5,000-digit one)."""
    if isinstance(item, float):
        return math.isfinite(item)
    return isinstance(item, int) and abs(item) < 10**100


def check_cluster_name(name: str) -> str:
    if not isinstance(name, str) or not CLUSTER_NAME_RE.match(name):
        raise TaskSpecError(
            f"cluster name {name!r} is invalid; expected 1-63 letters, digits, '-', '_' or '.', "
            "starting with a letter (no spaces or shell characters)",
            field="cluster_name",
        )
    return name
