"""Hostile and absurd task files: the loader either refuses them with one short line
(TaskSpecError) or returns a task that round-trips. Never another exception, never a hang.

The per-file time is measured in bench/task_loader_bench.py; the deadline here is only a
generous guard against a hang on a loaded machine.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from styx import spec
from styx.errors import TaskSpecError
from styx.resources import RESOURCE_FIELDS
from styx.schema import task_schema
from styx.task import CORE_FIELDS, Task

MAX_MESSAGE = 2000
HOSTILE = settings(
    max_examples=500,
    deadline=timedelta(seconds=10),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Values that broke or stretched the loader before, plus the ordinary ones.
_SPECIAL_NUMBERS = [
    0,
    1,
    -1,
    2,
    64,
    65,
    512,
    513,
    10**6,
    2**64 + 1,
    10**400,
    -(10**400),
    0.5,
    1.0,
    -0.0,
    1e308,
    -1e308,
    1e-300,
    math.inf,
    -math.inf,
    math.nan,
]
_SPECIAL_TEXT = [
    "",
    " ",
    "4",
    "4+",
    "4x",
    "0.5+",
    "1e400",
    "1e308",
    ".inf",
    "nan",
    "inf",
    "-1",
    "A100",
    "A100:8",
    "A100:nan",
    "A100:inf",
    "A100:1e400",
    "A100:0.5",
    "A100:65",
    "V100:1",
    "aws",
    "aws/us-east-1",
    "local",
    "k8s/ctx",
    "*",
    "~",
    "~/",
    "~/data",
    "~/../..",
    "~/../../etc/x",
    "../../../../x",
    "/etc/x",
    "/",
    "~root/x",
    "./x",
    "a\x00b",
    "x" * 300,
    "8000-8010",
    "70000",
    "10m",
    "1h",
    "99999999999d",
    "FAILOVER",
    "[[[[",
    "{a: *b}",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(_SPECIAL_NUMBERS),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(_SPECIAL_TEXT),
    st.text(max_size=40),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(_SPECIAL_TEXT), st.text(max_size=8)), children, max_size=4
        ),
    ),
    max_leaves=12,
)


def _field_value(name: str) -> st.SearchStrategy[Any]:
    """A value for ``name``: anything at all, or something close to the field's real shape."""
    shaped: dict[str, st.SearchStrategy[Any]] = {
        "accelerators": st.one_of(
            st.sampled_from(_SPECIAL_TEXT),
            st.dictionaries(st.sampled_from(["A100", "T4", "a:b", ""]), scalars, max_size=2),
            st.lists(st.sampled_from(_SPECIAL_TEXT), max_size=3),
        ),
        "autostop": st.one_of(
            scalars,
            st.fixed_dictionaries({}, optional={"idle_minutes": scalars, "down": scalars}),
        ),
        "job_recovery": st.one_of(
            scalars,
            st.fixed_dictionaries(
                {},
                optional={
                    "strategy": st.sampled_from(["FAILOVER", "eager_next_region", "x", 5]),
                    "max_restarts_on_errors": scalars,
                    "recover_on_exit_codes": st.one_of(scalars, st.lists(scalars, max_size=3)),
                },
            ),
        ),
        "ports": st.one_of(scalars, st.lists(scalars, max_size=3)),
        "image_id": st.one_of(scalars, st.dictionaries(st.text(max_size=6), scalars, max_size=2)),
        "file_mounts": st.dictionaries(
            st.sampled_from(_SPECIAL_TEXT), st.sampled_from(_SPECIAL_TEXT), max_size=3
        ),
        "envs": st.dictionaries(st.sampled_from(["A", "B_1", "1x", ""]), scalars, max_size=3),
        "secrets": st.dictionaries(st.sampled_from(["TOKEN", "K"]), scalars, max_size=2),
        "labels": st.dictionaries(st.sampled_from(["team", "a b"]), scalars, max_size=2),
        "workdir": st.one_of(
            scalars, st.fixed_dictionaries({"url": scalars}, optional={"ref": scalars})
        ),
    }
    return st.one_of(values, shaped.get(name, scalars))


_BRANCH_FIELDS = [f for f in RESOURCE_FIELDS if f not in ("any_of", "ordered")]
branch = st.fixed_dictionaries(
    {}, optional={f: _field_value(f) for f in _BRANCH_FIELDS if f != "infra"}
)
resources = st.fixed_dictionaries(
    {},
    optional={
        **{f: _field_value(f) for f in _BRANCH_FIELDS},
        "any_of": st.lists(branch, max_size=2),
    },
)
task_dicts = st.fixed_dictionaries(
    {},
    optional={
        **{f: _field_value(f) for f in CORE_FIELDS if f != "resources"},
        "resources": st.one_of(resources, values),
        "service": values,
    },
)


def _hostile_text() -> st.SearchStrategy[str]:
    """YAML documents that attack the parser itself rather than a field."""
    depth = st.integers(min_value=1, max_value=3000)
    laughs = st.integers(min_value=1, max_value=12).map(_billion_laughs)
    return st.one_of(
        depth.map(lambda n: "run: " + "[" * n + "]" * n),
        depth.map(lambda n: "run: " + "[" * n),
        depth.map(lambda n: "resources:\n  cpus: " + "{a: " * n + "1" + "}" * n),
        laughs,
        st.sampled_from(
            [
                "num_nodes: 1\nnum_nodes: 2\n",
                "resources: {cpus: 1, cpus: 2}",
                "a: &x [*x]",
                "run: !!python/object/apply:os.system ['echo pwned']",
                "num_nodes: " + "9" * 5000,
                "num_nodes: 1.0e+308",
                "num_nodes: 18446744073709551617",
                "resources: {cpus: .nan}",
                "resources: {accelerators: {A100: .inf}}",
                "resources: {disk_size: -.inf}",
                "\t\x00",
                "- a\n- b",
                "? [a]\n: 1",
                "base: &b {cpus: 1}\nresources:\n  <<: *b\n  cpus: 2\n",
            ]
        ),
        st.text(alphabet="[]{}:,&*!|>-?'\"#\n 1a~.", max_size=80),
    )


def _billion_laughs(levels: int) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels + 1):
        refs = ",".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    lines.append(f"name: *a{levels}")
    return "\n".join(lines) + "\n"


def _load_or_refuse(text: str) -> Task | None:
    """The property every input must hold; returns the task when one was loaded."""
    start = time.monotonic()
    try:
        task = Task.from_yaml_text(text)
    except TaskSpecError as exc:
        message = str(exc)
        assert "\n" not in message and "\r" not in message, message[:300]
        assert 0 < len(message) <= MAX_MESSAGE, message[:300]
        return None
    finally:
        # Far above the real figure (see bench/); only catches a runaway expansion or loop.
        assert time.monotonic() - start < 5.0
    again = Task.from_yaml_text(yaml.safe_dump(task.to_yaml(redact_secrets=False)))
    assert again == replace(task, unsupported_fields=())
    return task


@HOSTILE
@given(task_dicts)
def test_generated_task_files_load_or_fail_in_one_line(data: dict[str, Any]) -> None:
    _load_or_refuse(yaml.safe_dump(data, allow_unicode=True))


@HOSTILE
@given(_hostile_text())
def test_hostile_yaml_is_refused_in_one_line(text: str) -> None:
    _load_or_refuse(text)


@pytest.mark.parametrize(
    "text",
    [
        "num_nodes: 1000000",
        "num_nodes: 18446744073709551617",
        "num_nodes: 1.0e+308",
        "num_nodes: .inf",
        "num_nodes: -.inf",
        "disk_size: 1e308",
        "resources: {disk_size: .inf}",
        "resources: {job_recovery: {max_restarts_on_errors: 1.0e+308}}",
        "resources: {cpus: " + "9" * 400 + "}",
        "resources: {memory: " + "9" * 400 + "}",
        "resources: {max_hourly_cost: " + "9" * 400 + "}",
        "resources: {cpus: .nan}",
        "resources: {accelerators: 'A100:nan'}",
        "resources: {accelerators: 'A100:inf'}",
        "resources: {accelerators: 'A100:1e400'}",
        "resources: {accelerators: {A100: .nan}}",
        "run: " + "[" * 500 + "]" * 500,
        _billion_laughs(9),
        "num_nodes: 1\nnum_nodes: 2",
    ],
)
def test_issue_cases_are_refused_quickly(text: str) -> None:
    start = time.monotonic()
    with pytest.raises(TaskSpecError) as info:
        Task.from_yaml_text(text)
    assert time.monotonic() - start < 1.0  # the issue's bar; each takes milliseconds
    message = str(info.value)
    assert "\n" not in message and len(message) <= 400, message


def test_billion_laughs_is_refused_without_quoting_the_expansion() -> None:
    with pytest.raises(TaskSpecError, match="aliases expand to more than"):
        Task.from_yaml_text(_billion_laughs(9))


def test_duplicate_keys_name_the_key_and_line() -> None:
    with pytest.raises(TaskSpecError, match=r"duplicate key 'cpus' at line 3"):
        Task.from_yaml_text("resources:\n  cpus: 1\n  cpus: 2\n")


def test_merge_keys_may_override() -> None:
    task = Task.from_yaml_text(
        "run: x\nenvs:\n  <<: {A: '1', B: '2'}\n  B: '3'\n",
    )
    assert task.envs == {"A": "1", "B": "3"}


def test_bounds_accept_the_edges() -> None:
    task = Task.from_yaml(
        {
            "num_nodes": spec.MAX_NUM_NODES,
            "resources": {
                "accelerators": f"A100:{spec.MAX_ACCELERATORS}",
                "disk_size": spec.MAX_DISK_GB,
                "max_hourly_cost": 0,
                "priority": 0,
                "job_recovery": {"max_restarts_on_errors": spec.MAX_RESTARTS},
            },
        }
    )
    assert task.num_nodes == spec.MAX_NUM_NODES
    again = Task.from_yaml(task.to_yaml())
    assert again.resources == task.resources  # priority 0 and cost 0 survive the round trip


# ---- the JSON Schema and the loader agree --------------------------------------------------


def _schema_accepts(data: Any) -> bool:
    jsonschema = pytest.importorskip("jsonschema")
    try:
        json.dumps(data, allow_nan=False)  # a JSON document has no nan/inf to offer
    except (ValueError, TypeError):
        return False
    return jsonschema.Draft202012Validator(task_schema()).is_valid(data)


def _loader_accepts(data: Any) -> bool:
    try:
        Task.from_yaml(data)
    except TaskSpecError:
        return False
    return True


@HOSTILE
@given(task_dicts)
def test_schema_accepts_whatever_the_loader_accepts(data: dict[str, Any]) -> None:
    data = yaml.safe_load(yaml.safe_dump(data))  # what a task file can actually hold
    if _loader_accepts(data):
        try:
            json.dumps(data, allow_nan=False)
        except (ValueError, TypeError):
            return  # not a JSON document (a NaN nested in accelerator_args, say)
        assert _schema_accepts(data), data


# Each numeric field, where it sits in a task file.
NUMERIC_FIELDS = [
    ("num_nodes",),
    ("resources", "cpus"),
    ("resources", "memory"),
    ("resources", "disk_size"),
    ("resources", "max_hourly_cost"),
    ("resources", "max_total_cost"),
    ("resources", "priority"),
    ("resources", "ports"),
    ("resources", "autostop"),
    ("resources", "accelerators", "A100"),
    ("resources", "job_recovery", "max_restarts_on_errors"),
    ("resources", "job_recovery", "recover_on_exit_codes"),
]
numbers = st.one_of(
    st.sampled_from(_SPECIAL_NUMBERS),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-2, max_value=70000),
)


def _nest(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    for key in reversed(path):
        value = {key: value}
    return value


@HOSTILE
@given(st.sampled_from(NUMERIC_FIELDS), numbers)
def test_schema_and_loader_agree_on_every_number(path: tuple[str, ...], value: Any) -> None:
    data = _nest(path, value)
    if isinstance(value, float) and not math.isfinite(value):
        assert not _loader_accepts(data)
        return
    assert _schema_accepts(data) == _loader_accepts(data), (path, value)


def test_schema_refuses_negative_cpus_like_the_loader() -> None:
    data = {"resources": {"cpus": -1}}
    assert not _loader_accepts(data)
    assert not _schema_accepts(data)


def test_readme_documents_the_loader_ranges() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    rows = {
        "`num_nodes`": f"1 .. {spec.MAX_NUM_NODES}",
        "`resources.cpus`": f"above 0 .. {spec.MAX_CPUS:g}",
        "`resources.memory`": f"above 0 .. {spec.MAX_MEMORY_GB:g} GiB",
        "`resources.accelerators` count": f"1 .. {spec.MAX_ACCELERATORS}",
        "`resources.disk_size`": f"1 .. {spec.MAX_DISK_GB} GiB",
        "`resources.autostop`": f"0 .. {spec.MAX_AUTOSTOP_MINUTES} minutes",
        "`resources.max_hourly_cost`": f"0 .. {spec.MAX_HOURLY_COST:g} dollars",
        "`resources.max_total_cost`": f"above 0 .. {spec.MAX_TOTAL_COST:.0f} dollars",
        "`resources.priority`": f"0 .. {spec.MAX_PRIORITY}",
        "`job_recovery.max_restarts_on_errors`": f"0 .. {spec.MAX_RESTARTS}",
        "`job_recovery.recover_on_exit_codes`": f"0 .. {spec.MAX_EXIT_CODE}",
    }
    for field, bound in rows.items():
        (line,) = [ln for ln in readme.splitlines() if ln.startswith(f"| {field}")]
        assert bound in line, (field, line)


# ---- well-formed task files of every shape round-trip -----------------------------------------

_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30
)
_quantity = st.one_of(
    st.floats(min_value=0.001, max_value=4096),
    st.integers(min_value=1, max_value=4096),
    st.integers(min_value=1, max_value=4096).map(lambda n: f"{n}+"),
    st.sampled_from(["0.5", "0.25+", "1e2", "2.5e+1+"]),
)
_plausible_resources = {
    "infra": st.sampled_from(["aws", "aws/us-east-1", "gcp/us-central1/us-central1-a", "local"]),
    "cpus": _quantity,
    "memory": st.one_of(_quantity, st.integers(1, 1024).map(lambda n: f"{n}x")),
    "accelerators": st.one_of(
        st.tuples(st.sampled_from(["A100", "T4", "H100-80GB"]), st.integers(1, 64)).map(
            lambda t: f"{t[0]}:{t[1]}"
        ),
        st.dictionaries(st.sampled_from(["A100", "T4", "L4"]), st.integers(1, 64), min_size=1),
        st.lists(st.sampled_from(["A100:8", "V100", "T4:4"]), min_size=1, max_size=3, unique=True),
    ),
    "use_spot": st.booleans(),
    "disk_size": st.integers(1, spec.MAX_DISK_GB),
    "ports": st.one_of(
        st.integers(1, 65535),
        st.lists(st.integers(1, 65535), max_size=3),
        st.sampled_from(["8000-8003", "22"]),
    ),
    "labels": st.dictionaries(_names, _text, max_size=2),
    "image_id": st.one_of(_text.filter(bool), st.dictionaries(_names, _text, max_size=2)),
    "autostop": st.one_of(
        st.booleans(),
        st.integers(0, spec.MAX_AUTOSTOP_MINUTES),
        st.sampled_from(["10m", "1h", "30s", "2d"]),
        st.fixed_dictionaries({"idle_minutes": st.integers(0, 600), "down": st.booleans()}),
    ),
    "job_recovery": st.fixed_dictionaries(
        {"strategy": st.sampled_from(["FAILOVER", "eager_next_region"])},
        optional={
            "max_restarts_on_errors": st.integers(0, spec.MAX_RESTARTS),
            "recover_on_exit_codes": st.lists(st.integers(0, 255), max_size=3),
        },
    ),
    "max_hourly_cost": st.floats(min_value=0, max_value=spec.MAX_HOURLY_COST),
    "priority": st.integers(0, spec.MAX_PRIORITY),
    "accelerator_args": st.dictionaries(_names, st.one_of(_text, st.booleans()), max_size=2),
}
plausible_tasks = st.fixed_dictionaries(
    {},
    optional={
        "name": _text,
        "run": _text,
        "setup": _text,
        "num_nodes": st.integers(1, spec.MAX_NUM_NODES),
        "envs": st.dictionaries(_names, st.one_of(_text, st.integers(), st.booleans()), max_size=3),
        "secrets": st.dictionaries(_names, st.one_of(_text, st.none()), max_size=2),
        "file_mounts": st.dictionaries(
            st.sampled_from(["~/data", "data/x", "/data", "~/a/../b", "./c/"]), _text.filter(bool)
        ),
        "workdir": st.one_of(
            _text.filter(str.strip),
            st.fixed_dictionaries(
                {"url": st.just("https://example.com/r.git")}, optional={"ref": _text}
            ),
        ),
        "resources": st.fixed_dictionaries(
            {},
            optional={
                **_plausible_resources,
                "any_of": st.lists(
                    st.fixed_dictionaries(
                        {},
                        optional={
                            k: _plausible_resources[k]
                            for k in ("infra", "cpus", "accelerators", "use_spot", "disk_size")
                        },
                    ),
                    min_size=1,
                    max_size=3,
                ),
            },
        ),
    },
)


@settings(
    max_examples=300,
    deadline=timedelta(seconds=10),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(plausible_tasks)
def test_well_formed_task_files_round_trip(data: dict[str, Any]) -> None:
    task = _load_or_refuse(yaml.safe_dump(data, allow_unicode=True))
    # Only a path component over 255 characters or a blank path may be refused here.
    if task is None:
        with pytest.raises(TaskSpecError, match="path"):
            Task.from_yaml_text(yaml.safe_dump(data, allow_unicode=True))
