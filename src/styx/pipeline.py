"""Pipelines: a task file of several YAML documents, a chain of tasks run one after another.

SkyPilot's layout, read the same way: documents are separated by ``---``; a first document
holding nothing but ``name`` names the pipeline, every other document is one stage (a full
task). Each document goes through the bounded loader of :mod:`styx.yamlsafe`, and the number of
documents is bounded there too. Pipelines run as managed jobs, which Styx does not have yet;
``styx launch --dryrun`` plans every stage.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any

from styx.errors import TaskSpecError
from styx.spec import as_str
from styx.task import Task, read_task_file


@dataclass(frozen=True)
class Pipeline:
    name: str | None
    stages: tuple[Task, ...]

    def stage_name(self, index: int) -> str:
        return self.stages[index].name or f"stage-{index + 1}"


def load_task_or_pipeline(path: str | os.PathLike[str]) -> Task | Pipeline:
    """The task in ``path``, or a :class:`Pipeline` when the file holds several tasks."""
    text, base_dir, shown_path = read_task_file(path)
    return parse_task_or_pipeline(text, base_dir=base_dir, source=shown_path)


def parse_task_or_pipeline(
    text: str, base_dir: str | None = None, source: str = "task"
) -> Task | Pipeline:
    from styx.yamlsafe import load_yaml_documents

    documents = load_yaml_documents(text, source)
    name = None
    if len(documents) > 1 and isinstance(documents[0], dict) and set(documents[0]) == {"name"}:
        name = as_str("name", documents[0]["name"]) if documents[0]["name"] is not None else None
        documents = documents[1:]
    if len(documents) <= 1:
        task = Task.from_yaml(documents[0] if documents else None, base_dir=base_dir)
        return replace(task, name=task.name or name) if name else task
    stages = []
    for index, document in enumerate(documents):
        try:
            stages.append(Task.from_yaml(document, base_dir=base_dir))
        except TaskSpecError as exc:
            raise TaskSpecError(
                f"{source}: pipeline stage {index + 1}: {exc}", field=exc.field
            ) from None
    return Pipeline(name=name, stages=tuple(stages))


def map_stages(pipeline: Pipeline, change: Any) -> Pipeline:
    """The pipeline with ``change(task)`` applied to every stage (command-line overrides)."""
    return replace(pipeline, stages=tuple(change(stage) for stage in pipeline.stages))
