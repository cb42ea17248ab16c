"""Promotion by config change: `mlcicd promote` pins a version that passed every gate into a stack file."""

from runtime.promote.core import PromotionResult, promote
from runtime.promote.errors import PromotionError

__all__ = ["PromotionError", "PromotionResult", "promote"]
