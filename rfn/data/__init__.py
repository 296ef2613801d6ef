"""Data sets: every video set yields ``uint8`` tensors shaped ``[T, C, H, W]``.

Video sets (by name through :func:`make_dataset`): Stochastic Moving MNIST
(:mod:`~rfn.data.smmnist`), BAIR (:mod:`~rfn.data.bair`), KTH
(:mod:`~rfn.data.kth`) and bouncing shapes (:mod:`~rfn.data.textured`). Small
sets: noisy sinusoids (:mod:`~rfn.data.sinusoid`), the inner-square image task
(:mod:`~rfn.data.images`) and two moons (:mod:`~rfn.data.moons`).
"""

from rfn.data.bair import BAIR, prepare_bair
from rfn.data.images import (
    CelebAImages,
    InnerSquare,
    conditional_celeba,
    conditional_mnist,
    join_inner_square,
    split_inner_square,
)
from rfn.data.kth import KTH, prepare_kth
from rfn.data.mnist import load_mnist
from rfn.data.moons import two_moons
from rfn.data.registry import DATASETS, dataset_info, default_root, make_dataset, make_datasets
from rfn.data.sinusoid import Sinusoid
from rfn.data.smmnist import StochasticMovingMNIST, Trajectory, digit_pool
from rfn.data.textured import BouncingShapes

__all__ = [
    "BAIR",
    "DATASETS",
    "KTH",
    "BouncingShapes",
    "CelebAImages",
    "InnerSquare",
    "Sinusoid",
    "StochasticMovingMNIST",
    "Trajectory",
    "conditional_celeba",
    "conditional_mnist",
    "dataset_info",
    "default_root",
    "digit_pool",
    "join_inner_square",
    "load_mnist",
    "make_dataset",
    "make_datasets",
    "prepare_bair",
    "prepare_kth",
    "split_inner_square",
    "two_moons",
]
