"""Data sets: every video set yields ``uint8`` tensors shaped ``[T, C, H, W]``."""

from rfn.data.mnist import load_mnist

__all__ = ["load_mnist"]
