"""Test-session settings.

Under pytest-xdist every worker is its own process; letting each use several
OpenMP threads oversubscribes the cores, and torch's spinning threads then slow
small operations down by orders of magnitude. One thread per worker is fastest.
"""

import os
from types import SimpleNamespace

import pytest
import torch
from toy_video_model import RecordingVideos, ToyConfig, ToyVideos, cfg, make_model, params, scramble_global_rng

if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)


@pytest.fixture
def toy() -> SimpleNamespace:
    """The toy video model and data of ``toy_video_model.py``: ``toy.model(seed, **config)``,
    ``toy.videos(n, ...)``, ``toy.cfg(**train)``, ``toy.params(model)``, ``toy.scramble()``."""
    return SimpleNamespace(
        model=make_model,
        videos=ToyVideos,
        recording_videos=RecordingVideos,
        config=ToyConfig,
        cfg=cfg,
        params=params,
        scramble=scramble_global_rng,
    )


@pytest.fixture(scope="module")
def tiny_rfn():
    """The smoke preset's RFN (untrained, seed 0, eval mode): seconds to build, for the pages' tests."""
    from rfn.models.registry import build
    from rfn.presets import get_preset

    torch.manual_seed(0)
    preset = get_preset("smoke-smmnist")
    return build(preset.model, preset.model_config).eval()
