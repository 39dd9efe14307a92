"""Label and field selectors, parsed the way the API server reads them (the subset Styx uses)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Matcher = Callable[[dict[str, str]], bool]

_SET_TERM = re.compile(r"^\s*([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def _split_terms(selector: str) -> list[str]:
    """Split on commas that are not inside a set's parentheses."""
    terms, depth, current = [], 0, ""
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += ch
    terms.append(current)
    return [t.strip() for t in terms if t.strip()]


def _term(term: str) -> Matcher:
    m = _SET_TERM.match(term)
    if m:
        key, op, raw = m.group(1), m.group(2), m.group(3)
        values = {v.strip() for v in raw.split(",") if v.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if "!=" in term:
        key, value = (s.strip() for s in term.split("!=", 1))
        return lambda labels: labels.get(key) != value
    if "==" in term or "=" in term:
        key, value = (s.strip() for s in re.split("==?", term, maxsplit=1))
        return lambda labels: labels.get(key) == value
    if term.startswith("!"):
        key = term[1:].strip()
        return lambda labels: key not in labels
    return lambda labels: term in labels


def label_matcher(selector: str | None) -> Matcher:
    """Equality (=, ==, !=), set-based (in, notin) and existence (key, !key) terms, ANDed."""
    if not selector:
        return lambda labels: True
    matchers = [_term(t) for t in _split_terms(selector)]
    return lambda labels: all(m(labels) for m in matchers)


def _field(obj: dict[str, Any], path: str) -> str | None:
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return None if value is None else str(value)


def field_matcher(selector: str | None) -> Callable[[dict[str, Any]], bool]:
    """Field selectors such as ``involvedObject.name=pod-1,type!=Normal``."""
    if not selector:
        return lambda obj: True
    checks: list[tuple[str, str, bool]] = []
    for term in _split_terms(selector):
        if "!=" in term:
            path, value = term.split("!=", 1)
            checks.append((path.strip(), value.strip(), False))
        else:
            path, value = re.split("==?", term, maxsplit=1)
            checks.append((path.strip(), value.strip(), True))
    return lambda obj: all((_field(obj, p) == v) is eq for p, v, eq in checks)
