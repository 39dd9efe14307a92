"""The client/agent protocol: every value that crosses between them, and its JSON form.

Both sides import this module (the head runs the client's own wheel), so a field is named once.
The client runs ``python -m styx.agent --root DIR COMMAND`` on the head; the agent answers with
one JSON document on stdout, or streams a job's log with the marker lines below around it. A
refusal is one :data:`MARK_ERROR` line carrying a named :class:`ErrorCode`, and the exit status
:data:`ERROR_EXIT`. Standard library only: the agent starts on a bare node.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

from styx.agent.nodes import NodeSpec

# The leading record separator keeps a marker from ever matching a line a job prints.
MARK_SUBMITTED = "\x1estyx-submitted "
MARK_FINISHED = "\x1estyx-finished "
MARK_ERROR = "\x1estyx-error "
ERROR_EXIT = 3  # the agent refused the request; the MARK_ERROR line says why


class ErrorCode(StrEnum):
    NO_SUCH_JOB = "NO_SUCH_JOB"  # a job id the cluster never had
    NO_JOBS_YET = "NO_JOBS_YET"  # "the latest job" asked of a cluster with none
    BAD_REQUEST = "BAD_REQUEST"  # unreadable arguments or job spec
    INTERNAL = "INTERNAL"  # the agent itself failed


class JobStatus(StrEnum):
    PENDING = "PENDING"
    SETTING_UP = "SETTING_UP"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    FAILED_SETUP = "FAILED_SETUP"
    CANCELLED = "CANCELLED"

    @property
    def done(self) -> bool:
        return self.value in TERMINAL


# Plain strings: the queue's rows hold text.
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "FAILED_SETUP", "CANCELLED"})
STATUSES = frozenset(s.value for s in JobStatus)


@dataclass(frozen=True)
class AgentFailure:
    """The agent's answer when it refuses or fails a request."""

    code: ErrorCode
    message: str
    job_ids: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code.value, "message": self.message, "job_ids": list(self.job_ids)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AgentFailure:
        try:
            code = ErrorCode(d.get("code"))
        except ValueError:
            code = ErrorCode.INTERNAL
        return cls(code, str(d.get("message", "")), tuple(int(j) for j in d.get("job_ids", ())))


class AgentRequestError(Exception):
    """Raised inside the agent to answer with an :class:`AgentFailure`."""

    def __init__(self, code: ErrorCode, message: str, job_ids: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.failure = AgentFailure(code, message, job_ids)


@dataclass(frozen=True)
class ClusterInfo:
    """What a job learns about its cluster (SKYPILOT_CLUSTER_INFO)."""

    cluster_name: str
    cloud: str
    region: str | None = None
    zone: str | None = None


@dataclass(frozen=True)
class JobSpec:
    """A job as the client submits it. The agent fills ``job_id`` and ``task_id``."""

    run: str | None
    nodes: tuple[NodeSpec, ...]
    cluster_name: str
    cluster_info: ClusterInfo
    name: str | None = None
    setup: str | None = None
    envs: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict, repr=False)
    workdir: str | None = None
    num_gpus_per_node: int = 0
    job_id: int | None = None
    task_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> JobSpec:
        if not isinstance(d, dict):
            raise ValueError("a job spec is a JSON object")
        data = _known(cls, d)
        data["nodes"] = tuple(_node(n) for n in d.get("nodes") or ())
        if not data["nodes"]:
            raise ValueError("a job spec needs at least one node")
        data["cluster_info"] = ClusterInfo(**_known(ClusterInfo, d.get("cluster_info") or {}))
        return cls(**data)


def _node(value: NodeSpec | dict[str, Any]) -> NodeSpec:
    return value if isinstance(value, NodeSpec) else NodeSpec.from_dict(value)


@dataclass(frozen=True)
class JobInfo:
    """The agent's record of one job (its queue row)."""

    job_id: int
    name: str | None
    status: JobStatus
    submitted_at: float
    started_at: float | None = None
    ended_at: float | None = None
    exit_code: int | None = None
    failed_node: str | None = None
    message: str | None = None
    driver_pid: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", JobStatus(self.status))  # the queue stores text

    @property
    def done(self) -> bool:
        return self.status.done

    @property
    def succeeded(self) -> bool:
        return self.status is JobStatus.SUCCEEDED

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> JobInfo:
        return cls(**_known(cls, d))


@dataclass(frozen=True)
class Submitted:
    job_id: int
    task_id: str

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Submitted:
        return cls(int(d["job_id"]), str(d["task_id"]))


@dataclass(frozen=True)
class CancelResult:
    cancelled: tuple[int, ...] = ()
    already_done: tuple[int, ...] = ()  # named jobs that had ended before the request

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CancelResult:
        return cls(
            tuple(int(j) for j in d.get("cancelled", ())),
            tuple(int(j) for j in d.get("already_done", ())),
        )


def _known(cls: type, d: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in d.items() if k in names}


def dumps(value: Any) -> str:
    """One line of JSON for a protocol value (a dataclass, a list of them, or None)."""
    if isinstance(value, list | tuple):
        return json.dumps([_plain(v) for v in value])
    return json.dumps(_plain(value))


def _plain(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    return value


def error_line(failure: AgentFailure) -> str:
    return f"{MARK_ERROR}{json.dumps(failure.to_dict())}\n"


def parse_error_line(line: str) -> AgentFailure | None:
    if not line.startswith(MARK_ERROR):
        return None
    try:
        return AgentFailure.from_dict(json.loads(line[len(MARK_ERROR) :]))
    except ValueError:
        return AgentFailure(ErrorCode.INTERNAL, line[len(MARK_ERROR) :].strip())
