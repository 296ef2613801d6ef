"""Image Glow models: the conditional image task and errors.

Learning on real MNIST is tested through the glow-mnist preset (tests/test_training_batches.py).
"""

from __future__ import annotations

import pytest
import torch

from rfn.models import ConditionalImageGlow, ConditionalImageGlowConfig, ImageGlow, ImageGlowConfig, build


def test_conditional_glow_task_shapes_and_learning():
    torch.manual_seed(0)
    model = ConditionalImageGlow(ConditionalImageGlowConfig(levels=2, steps=2, hidden=16, cond_features=8))
    cond = torch.randint(0, 256, (8, 1, 32, 32), dtype=torch.uint8)
    target = (cond[:, :, 8:24, 8:24] // 64) * 64  # 2-bit target that depends on the condition
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = None
    for _ in range(30):
        out = model.loss((cond, target))
        first = first if first is not None else out["bpp"].item()
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
    assert out["bpp"].item() < first - 0.3
    s = model.sample(cond, temperature=0.5)
    assert s.shape == target.shape and s.dtype == torch.uint8
    assert set(s.unique().tolist()) <= {0, 64, 128, 192}


def test_registry_round_trip_and_errors():
    model = build("glow", {"image_size": [8, 8], "levels": 2, "steps": 1, "hidden": 8})
    assert isinstance(model, ImageGlow) and model.config.image_size == (8, 8)
    with pytest.raises(ValueError, match="unknown ImageGlowConfig keys"):
        build("glow", {"depth": 3})
    with pytest.raises(ValueError, match="unknown model"):
        build("nope", {})
    with pytest.raises(ValueError, match=r"uint8 \[B, 1, 8, 8\]"):
        model.loss(torch.zeros(2, 1, 9, 9, dtype=torch.uint8))
    with pytest.raises(TypeError, match="uint8"):
        model.loss(torch.zeros(2, 1, 8, 8))


def test_padding_for_sizes_not_divisible():
    model = ImageGlow(ImageGlowConfig(image_size=(28, 28), levels=3, steps=1, hidden=8))
    assert model.padded == (32, 32)
    x = torch.randint(0, 256, (2, 1, 28, 28), dtype=torch.uint8)
    assert torch.isfinite(model.loss(x)["loss"])
    assert model.sample(2).shape == (2, 1, 28, 28)
