"""``train.compile``: the training objective of every video model traces as one graph.

A graph break splits what ``torch.compile`` fuses and adds a round trip through Python per
step (a generator expression in :func:`rfn.pixels.num_dims` once cost four of them). Only
TorchDynamo's tracing runs here (``torch._dynamo.explain``), not inductor's code generation,
so the check takes seconds and needs no compiler.
"""

import pytest
import torch

from rfn.models.registry import build
from rfn.presets import get_preset


@pytest.mark.parametrize("name", ["smoke", "smoke-srnn", "smoke-vrnn", "smoke-deterministic"])
def test_training_loss_traces_without_graph_breaks(name):
    preset = get_preset(name)
    torch.manual_seed(0)
    model = build(preset.model, preset.model_config).to(memory_format=torch.channels_last)
    cfg = model.config
    x = torch.randint(0, 256, (2, 3, cfg.channels, *cfg.image_size), dtype=torch.uint8)
    with torch.no_grad():
        model.loss(x)  # data-dependent initialisation outside the traced call, as the trainer does
    model.train()
    torch._dynamo.reset()
    try:
        report = torch._dynamo.explain(model.loss)(x, 1.0)
    finally:
        torch._dynamo.reset()
    reasons = [b.reason.splitlines()[0] for b in report.break_reasons]
    assert report.graph_break_count == 0, f"{name}: graph breaks in model.loss: {reasons}"
    assert report.graph_count == 1


@pytest.mark.parametrize("name", ["smoke", "smoke-srnn"])
def test_sampling_leaves_no_attributes_behind(name):
    """``predict`` caches folded and inverse weights on the modules and must remove them afterwards:
    a compiled training step guards on those attributes, so a validation with sampling between two
    training steps would otherwise cost a recompilation."""
    preset = get_preset(name)
    torch.manual_seed(0)
    model = build(preset.model, preset.model_config)
    cfg = model.config
    x = torch.randint(0, 256, (2, 3, cfg.channels, *cfg.image_size), dtype=torch.uint8)
    with torch.no_grad():
        model.loss(x)
    before = {n: set(vars(m)) for n, m in model.named_modules()}
    model.eval()
    model.predict(x[:, :2], n_future=2, n_samples=2)
    model.train()
    after = {n: set(vars(m)) for n, m in model.named_modules()}
    changed = {n: sorted(after[n] ^ before[n]) for n in before if after[n] != before[n]}
    assert not changed, f"attributes left on modules by predict: {changed}"
