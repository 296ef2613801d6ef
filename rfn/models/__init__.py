"""Models built on :mod:`rfn.flows` and :mod:`rfn.nets`; importing this registers them all."""

from rfn.models.image_glow import ConditionalImageGlow, ConditionalImageGlowConfig, ImageGlow, ImageGlowConfig
from rfn.models.registry import MODELS, build, register

__all__ = [
    "MODELS",
    "ConditionalImageGlow",
    "ConditionalImageGlowConfig",
    "ImageGlow",
    "ImageGlowConfig",
    "build",
    "register",
]
