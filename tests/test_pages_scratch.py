"""rfn.pages.scratch: the tiny models behind the from-scratch cells have every weight off its initial value."""

from __future__ import annotations

import pytest
import torch

from rfn.models import build
from rfn.pages.scratch import KINDS, scratch_model, smoke_clip
from rfn.presets import get_preset


def test_every_weight_and_batchnorm_statistic_moves_off_its_initial_value():
    model, clip = scratch_model("srnn", seed=3)
    torch.manual_seed(3)
    preset = get_preset(KINDS["srnn"])
    fresh = build(preset.model, preset.model_config)
    for (name, p), q in zip(model.named_parameters(), fresh.parameters()):
        assert not torch.equal(p, q), f"{name} kept its initial value"
    peephole = dict(model.named_parameters())["rnn.w_co"]
    assert peephole.abs().min() > 0  # zero-initialised, now non-zero everywhere
    bn = next(m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert not torch.equal(bn.running_var, torch.ones_like(bn.running_var))
    assert not model.training and clip.dtype == torch.uint8 and torch.equal(clip, smoke_clip())


def test_the_same_seed_gives_the_same_model_and_overrides_reach_the_config():
    a, _ = scratch_model("rfn", seed=1)
    b, _ = scratch_model("rfn", seed=1, skip="none", flow_steps=2)
    c, _ = scratch_model("rfn", seed=1)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))
    assert (b.config.skip, b.config.flow_steps) == ("none", 2)
    with torch.no_grad():  # a moved flow still gives finite bits, not a blow-up
        bpp = a.loss(smoke_clip())["bpp"]
    assert torch.isfinite(bpp) and 2.0 < bpp < 20.0


def test_unknown_kind_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="choose one of rfn, srnn, vrnn"):
        scratch_model("glow")
