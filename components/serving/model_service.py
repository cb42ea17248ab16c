"""`mlcicd:serving:ModelService`: the model endpoint, on ECS Fargate (`ecs.py`) or EKS (`eks.py`).

The arguments live in `components/serving/args.py` (shared by both backends) and are re-exported here.
"""

from __future__ import annotations

from components.serving.args import AlarmFactory, ModelServiceArgs, RollbackAlarms, Strategy, pinned_image

__all__ = ["AlarmFactory", "ModelServiceArgs", "RollbackAlarms", "Strategy", "pinned_image"]
