"""Loaded models come channels-last (``rfn.load``, ``rfn sample``, ``rfn evaluate``) and sample the same frames."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import rfn
from rfn.checkpoint import save_checkpoint
from rfn.cli import LAYOUT_CHOICES
from rfn.evaluation import EvaluationOptions
from rfn.evaluation.cli import build_parser as evaluate_parser
from rfn.evaluation.inputs import load_model as evaluation_load_model
from rfn.models.registry import LAYOUTS, set_layout
from rfn.models.registry import MODELS as REGISTRY
from tests.test_models import MODELS, video, wake_flow, warm


def channels_last(model) -> bool:
    convs = [m.weight for m in model.modules() if isinstance(m, torch.nn.Conv2d) and m.weight.shape[1] > 1]
    assert convs  # weights with one input channel or 1x1 kernels are both layouts at once
    convs = [w for w in convs if w.shape[-1] > 1]
    return all(w.is_contiguous(memory_format=torch.channels_last) and not w.is_contiguous() for w in convs)


def write(model, path, kind: str):
    name = next(n for n, (_, cls) in REGISTRY.items() if cls is type(model))
    payload = {"model_name": name, "model_config": dataclasses.asdict(model.config), "model": model.state_dict()}
    payload["data_config"] = {"name": "smmnist", "seq_len": 4}
    return save_checkpoint(path / f"{kind}.pt", payload)


def test_load_is_channels_last_unless_asked_otherwise(tmp_path):
    torch.manual_seed(0)
    path = write(warm(MODELS["rfn"](), video()), tmp_path, "rfn")
    assert channels_last(rfn.load(path)) and channels_last(rfn.load(path, layout="channels_last"))
    contiguous = rfn.load(path, layout="contiguous")
    assert not channels_last(contiguous) and all(p.is_contiguous() for p in contiguous.parameters())
    with pytest.raises(ValueError, match="unknown layout 'nhwc'; choose one of auto, channels_last, contiguous"):
        rfn.load(path, layout="nhwc")


def test_evaluation_leaves_a_given_model_as_it_is_on_auto(tmp_path):
    torch.manual_seed(0)
    model = warm(MODELS["srnn"](), video())
    data = {"name": "smmnist"}
    assert not channels_last(evaluation_load_model(model, torch.device("cpu"), data)[0])
    assert channels_last(evaluation_load_model(model, torch.device("cpu"), data, "channels_last")[0])
    path = write(model, tmp_path, "srnn")
    assert channels_last(evaluation_load_model(str(path), torch.device("cpu"), None)[0])
    assert not channels_last(evaluation_load_model(str(path), torch.device("cpu"), None, "contiguous")[0])
    with pytest.raises(ValueError, match="layout must be one of auto, channels_last, contiguous"):
        EvaluationOptions(layout="fast")


def test_command_line_layouts_are_the_registry_s():
    assert LAYOUT_CHOICES == LAYOUTS
    action = next(a for a in evaluate_parser()._actions if a.dest == "layout")
    assert tuple(action.choices) == LAYOUTS and action.default == "auto"


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_loaded_model_samples_the_reference_path_s_frames(kind, tmp_path):
    """The model as rfn.load returns it (fast path, channels-last) against the plain reference path
    (contiguous, frame by frame, nothing folded or cached): the same frames in float64, and in float32
    the same up to a pixel on a bin edge landing one level apart."""
    torch.manual_seed(0)
    x = video(T=4)
    model = wake_flow(warm(MODELS[kind](), x))
    loaded = rfn.load(write(model, tmp_path, kind))
    assert channels_last(loaded)
    for dtype in (torch.float64, torch.float32):
        reference = set_layout(MODELS[kind]().to(dtype), "contiguous")
        reference.load_state_dict(model.state_dict())
        reference.eval().use_reference_path(True)
        out = []
        for net in (reference, loaded.to(dtype)):
            torch.manual_seed(5)
            out.append(net.predict(x[:, :3], 3, n_samples=3, prior_temperature=0.8))
        if dtype == torch.float64:
            assert torch.equal(out[0], out[1])
        else:
            diff = (out[0].int() - out[1].int()).abs()
            assert (diff == 0).float().mean() > 0.999 and diff.max() <= 2
