"""benchmarks/thesis_compare.py: its run-time patches of torch come off again, and a wrong path is one clear line."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("thesis_compare", ROOT / "benchmarks" / "thesis_compare.py")
thesis_compare = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(thesis_compare)


def test_patches_of_torch_are_undone():
    cuda, had_qr = torch.Tensor.cuda, hasattr(torch, "qr")
    with thesis_compare.thesis_on_this_machine():
        t = torch.zeros(2)
        if not torch.cuda.is_available():
            assert t.cuda() is t  # the thesis code's .cuda() calls leave CPU tensors where they are
        q, _ = torch.qr(torch.eye(3))
        assert q.shape == (3, 3)
    assert torch.Tensor.cuda is cuda and hasattr(torch, "qr") == had_qr


def test_a_path_that_is_not_the_thesis_code_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="is not a checkout of cdglissov/recurrent-flows-msc"):
        thesis_compare.main([str(tmp_path), "--rounds", "1"])


def test_the_thesis_configuration_matches_the_quick_preset():
    from rfn.presets import get_preset

    cfg, args = get_preset("quick-smmnist").model_config, thesis_compare.thesis_args(12)
    assert (args.L, args.K, args.z_dim) == (cfg["levels"], cfg["flow_steps"], cfg["z_channels"])
    assert (args.n_units_affine, args.n_units_prior) == (cfg["flow_hidden"], cfg["base_hidden"])
    assert (args.h_dim, args.a_dim) == (cfg["h_channels"], cfg["a_channels"])
    assert args.prior_structure == args.encoder_structure == [cfg["head_hidden"]]
