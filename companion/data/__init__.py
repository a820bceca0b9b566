"""Datasets and unlearning tasks (QUICK: embedded; FULL: torchvision layouts under DATA_ROOT)."""

from . import embedded, full
from .tasks import (
    DIGIT_SUPERCLASS_NAMES,
    DIGIT_SUPERCLASSES,
    TASKS,
    RetainAccessError,
    Split,
    Task,
    ZeroShotTask,
    available_tasks,
    load_task,
    require_zero_shot,
)

__all__ = [
    "DIGIT_SUPERCLASSES", "DIGIT_SUPERCLASS_NAMES", "TASKS", "RetainAccessError", "Split", "Task",
    "ZeroShotTask", "available_tasks", "embedded", "full", "load_task", "require_zero_shot",
]
