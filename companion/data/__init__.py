"""Datasets and unlearning tasks (QUICK: embedded; FULL: torchvision layouts under DATA_ROOT)."""

from . import embedded, full
from .splits import RetainAccessError, Split, Task, ZeroShotTask, require_zero_shot
from .tasks import (
    DIGIT_SUPERCLASS_NAMES,
    DIGIT_SUPERCLASSES,
    TASKS,
    TaskShape,
    available_tasks,
    check_forget,
    load_task,
    task_shape,
)

__all__ = [
    "DIGIT_SUPERCLASSES",
    "DIGIT_SUPERCLASS_NAMES",
    "TASKS",
    "RetainAccessError",
    "Split",
    "Task",
    "TaskShape",
    "ZeroShotTask",
    "available_tasks",
    "check_forget",
    "task_shape",
    "embedded",
    "full",
    "load_task",
    "require_zero_shot",
]
