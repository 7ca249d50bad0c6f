"""Gradeable tasks for PRM data: a scenario name, `gsm8k-train` (GSM8K's train split) or a task file."""

from __future__ import annotations

from pathlib import Path

from ponder.task import Task, VisibleTask, load_tasks

TRAIN_SPLITS = {"gsm8k-train": "gsm8k/train.jsonl"}


def _gsm8k_train() -> list[Task]:
    from ponder.scenarios.gsm8k import gsm8k_task
    from ponder.scenarios.paths import data_file
    from ponder.scenarios.sources import read_jsonl

    tasks = []
    for i, record in enumerate(read_jsonl(data_file(TRAIN_SPLITS["gsm8k-train"]))):
        task = gsm8k_task(i, record)
        visible = VisibleTask(
            id=f"gsm8k-train/{i}",
            kind="math",
            prompt=task.visible.prompt,
            metadata={"scenario": "gsm8k-train"},
        )
        tasks.append(Task(visible=visible, hidden=task.hidden))
    return tasks


def load_prm_tasks(ref: str, limit: int | None = None, skip: int = 0) -> list[Task]:
    """Tasks `skip` .. `skip + limit` of `ref` (so disjoint slices give train and held-out sets)."""
    if ref in TRAIN_SPLITS:
        tasks = _gsm8k_train()
    elif Path(ref).is_file():
        tasks = load_tasks(ref)
    else:
        from ponder.scenarios import get_scenario

        tasks = get_scenario(ref).load()
    end = None if limit is None else skip + limit
    return tasks[skip:end]
