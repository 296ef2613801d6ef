"""The conditional image task of thesis appendix A.4: predict an image's centre from its border.

The thesis checked its conditional Glow on 2-bit 32x32 CelebA: the target is
the inner 16x16 square of an image and the condition is the rest of it. CelebA
cannot be downloaded here, so the same task is built on MNIST (offline asset)
and, when the user has a local copy, on CelebA.

* Quantisation: ``n_bits`` keeps the top bits of each 8-bit value; items stay
  ``uint8`` on the 0..255 scale with the low ``8 - n_bits`` bits zeroed, so
  ``rfn.pixels.to_float(x, n_bits)`` maps them to the ``2**n_bits`` levels a
  model sees, and they display as they are.
* MNIST: the 28x28 digits are zero-padded by 2 pixels on each side to 32x32
  (exact, no interpolation; the digits keep their size). Splits follow
  :func:`rfn.data.mnist.load_mnist` (50k train, 10k valid, 10k test).
* CelebA: images from a local folder (``img_align_celeba`` or any folder of
  jpg/png files) are centre-cropped to a 148-pixel square (as in RealNVP and
  Glow) and resized to ``image_size`` with a Lanczos filter. With
  ``list_eval_partition.txt`` beside the images (or in their parent folder)
  its official train/valid/test split is used; without it the sorted file
  list is split 90% train / 10% test.

Items are pairs ``(condition, target)``: ``condition`` is the full image with
the inner square set to 0, ``uint8 [C, S, S]``; ``target`` is the inner square,
``uint8 [C, inner, inner]``. :func:`join_inner_square` puts them back together.

Example:
    >>> import torch
    >>> x = torch.arange(16, dtype=torch.uint8).reshape(1, 4, 4)
    >>> cond, target = split_inner_square(x, inner=2)
    >>> target.tolist()
    [[[5, 6], [9, 10]]]
    >>> bool((join_inner_square(cond, target) == x).all())
    True
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from rfn.data.mnist import load_mnist

__all__ = [
    "CelebAImages",
    "InnerSquare",
    "MNISTImages",
    "conditional_celeba",
    "conditional_mnist",
    "join_inner_square",
    "quantize",
    "split_inner_square",
]

_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def quantize(x: torch.Tensor, n_bits: int) -> torch.Tensor:
    """Keep the top ``n_bits`` bits of ``uint8`` values (the rest set to 0)."""
    if not isinstance(n_bits, int) or not 1 <= n_bits <= 8:
        raise ValueError(f"n_bits must be an integer in 1..8, got {n_bits!r}")
    if x.dtype != torch.uint8:
        raise TypeError(f"quantize expects uint8 pixels, got {x.dtype}")
    shift = 8 - n_bits
    return (x >> shift) << shift


def _inner_slice(size: int, inner: int) -> slice:
    if not isinstance(inner, int) or not 1 <= inner <= size or (size - inner) % 2:
        raise ValueError(f"inner square side must be an integer in 1..{size} with {size} - inner even, got {inner!r}")
    a = (size - inner) // 2
    return slice(a, a + inner)


def split_inner_square(images: torch.Tensor, inner: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut images ``[..., C, S, S]`` into (border with a zeroed centre, centre ``[..., C, inner, inner]``)."""
    size = images.shape[-1]
    if images.shape[-2] != size:
        raise ValueError(f"images must be square, got {tuple(images.shape[-2:])}")
    s = _inner_slice(size, inner)
    target = images[..., s, s].clone()
    condition = images.clone()
    condition[..., s, s] = 0
    return condition, target


def join_inner_square(condition: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Put a centre ``[..., C, inner, inner]`` back into its border ``[..., C, S, S]``."""
    s = _inner_slice(condition.shape[-1], target.shape[-1])
    full = condition.clone()
    full[..., s, s] = target
    return full


class InnerSquare(Dataset):
    """Inner-square task over any source of ``uint8 [C, S, S]`` images.

    Args:
        source: a sequence (tensor ``[N, C, S, S]`` or data set) of ``uint8 [C, S, S]`` images.
        n_bits: quantisation level (2 in the thesis).
        inner: side of the target square.

    Items are ``(condition uint8 [C, S, S], target uint8 [C, inner, inner])``.
    """

    def __init__(self, source, n_bits: int = 2, inner: int = 16) -> None:
        quantize(torch.zeros(1, dtype=torch.uint8), n_bits)  # validates n_bits
        self.source, self.n_bits, self.inner = source, n_bits, inner

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = self.source[index]
        return split_inner_square(quantize(image, self.n_bits), self.inner)


class MNISTImages(Dataset):
    """MNIST digits as ``uint8 [1, 28 + 2 pad, 28 + 2 pad]`` images (zero padding, no interpolation).

    Args:
        split: a split of :func:`rfn.data.mnist.load_mnist` (``"train"`` 50k, ``"valid"``, ``"test"``).
        pad: zero pixels added on each side (2 gives the 32x32 images of the inner-square task).
        length: use only the first ``length`` images (``None``: all).
    """

    def __init__(self, split: str = "train", pad: int = 0, length: int | None = None) -> None:
        if not isinstance(pad, int) or pad < 0:
            raise ValueError(f"pad must be an integer >= 0, got {pad!r}")
        images, labels = load_mnist(split)
        if length is not None:
            if not isinstance(length, int) or not 1 <= length <= len(images):
                raise ValueError(f"length must be an integer in 1..{len(images)} for the {split} split, got {length!r}")
            images, labels = images[:length], labels[:length]
        self.images = torch.nn.functional.pad(images, (pad,) * 4).unsqueeze(1)
        self.labels = labels

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.images[index]


def conditional_mnist(split: str = "train", n_bits: int = 2, inner: int = 16) -> InnerSquare:
    """The inner-square task on MNIST zero-padded to 32x32: items ``([1, 32, 32], [1, inner, inner])``."""
    return InnerSquare(MNISTImages(split, pad=2).images, n_bits=n_bits, inner=inner)


def _celeba_folder(root: Path) -> Path:
    if not root.exists():
        raise FileNotFoundError(
            f"CelebA folder {root} does not exist. CelebA is not downloaded by this project; download "
            f"img_align_celeba.zip from https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html, unzip it and "
            f"pass the folder holding the .jpg files (or its parent)."
        )
    return root / "img_align_celeba" if (root / "img_align_celeba").is_dir() else root


class CelebAImages(Dataset):
    """Images of a local CelebA copy, centre-cropped and resized: ``uint8 [3, S, S]``.

    Args:
        root: folder of CelebA images (or the folder holding ``img_align_celeba``).
        split: ``"train"``, ``"valid"`` (only with ``list_eval_partition.txt``) or ``"test"``.
        image_size: side of the resized images.
        crop: side of the centre crop taken before resizing (clipped to the image).
    """

    def __init__(self, root: str | os.PathLike, split: str = "train", image_size: int = 32, crop: int = 148) -> None:
        if split not in ("train", "valid", "test"):
            raise ValueError(f"unknown CelebA split {split!r}; choose train, valid or test")
        folder = _celeba_folder(Path(root).expanduser())
        files = sorted(e.name for e in os.scandir(folder) if e.name.lower().endswith(_IMAGE_SUFFIXES))
        if not files:
            raise ValueError(f"CelebA folder {folder} holds no .jpg or .png images; expected files like 000001.jpg")
        partition = next((p for p in (folder, folder.parent) if (p / "list_eval_partition.txt").is_file()), None)
        if partition is not None:
            codes = {}
            for line in (partition / "list_eval_partition.txt").read_text().split("\n"):
                parts = line.split()
                if len(parts) == 2:
                    codes[parts[0]] = parts[1]
            want = {"train": "0", "valid": "1", "test": "2"}[split]
            files = [f for f in files if codes.get(f) == want]
        elif split == "valid":
            raise ValueError(f"{folder}: a valid split needs list_eval_partition.txt beside the images")
        else:
            cut = round(0.9 * len(files))
            files = files[:cut] if split == "train" else files[cut:]
        if not files:
            raise ValueError(f"CelebA folder {folder} has no images in the {split} split")
        self.folder, self.files, self.image_size, self.crop = folder, files, image_size, crop

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> torch.Tensor:
        from PIL import Image

        path = self.folder / self.files[index]
        with Image.open(path) as img:
            img = img.convert("RGB")
            w, h = img.size
            c = min(self.crop, w, h)
            left, top = (w - c) // 2, (h - c) // 2
            img = img.crop((left, top, left + c, top + c))
            img = img.resize((self.image_size, self.image_size), Image.Resampling.LANCZOS)
            arr = np.asarray(img)
        return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))


def conditional_celeba(
    root: str | os.PathLike, split: str = "train", n_bits: int = 2, image_size: int = 32, inner: int = 16
) -> InnerSquare:
    """The thesis's task on a local CelebA copy: items ``([3, 32, 32], [3, inner, inner])``."""
    return InnerSquare(CelebAImages(root, split, image_size), n_bits=n_bits, inner=inner)
