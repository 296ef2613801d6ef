"""Learning-rate and KL-weight schedules (rfn.training.optim) and their settings (rfn.config.TrainConfig)."""

from __future__ import annotations

import pytest

from rfn.config import TrainConfig
from rfn.training import beta_at, lr_factor


def test_lr_schedule_matches_thesis_table():
    c = TrainConfig(steps=300_000)  # decay_start None -> the final half, as Table A.2
    assert c.decay_start_step == 150_000
    assert [lr_factor(s, c) for s in (0, 149_999, 150_000)] == [1.0, 1.0, 1.0]
    assert lr_factor(225_000, c) == 0.5
    assert lr_factor(299_999, c) == pytest.approx(1 / 150_000, rel=1e-12)
    assert lr_factor(300_000, c) == 0.0
    no_decay = TrainConfig(steps=10, decay_start=10)
    assert [lr_factor(s, no_decay) for s in range(10)] == [1.0] * 10


def test_beta_warmup_values():
    c = TrainConfig(beta_start=1e-6, beta_end=1.0, beta_warmup_steps=1000)
    assert beta_at(0, c) == 1e-6
    assert beta_at(500, c) == pytest.approx(1e-6 + (1 - 1e-6) * 0.5, rel=1e-12)
    assert beta_at(1000, c) == 1.0 and beta_at(10**6, c) == 1.0
    assert beta_at(0, TrainConfig(beta_warmup_steps=0)) == 1.0


def test_train_config_rejects_bad_values():
    with pytest.raises(ValueError, match=r"train.decay_start must be None or an integer in \[0, steps=10\]"):
        TrainConfig(steps=10, decay_start=20)
    with pytest.raises(ValueError, match="train.lr must be a positive finite float"):
        TrainConfig(lr=-1.0)
    with pytest.raises(ValueError, match="train.batch_size must be an integer >= 1"):
        TrainConfig(batch_size=0)


def test_learning_rate_warmup_then_decay():
    c = TrainConfig(steps=10, decay_start=6, warmup_steps=4)
    assert [lr_factor(s, c) for s in range(10)] == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0, 1.0, 1.0, 0.75, 0.5, 0.25])
    assert [lr_factor(s, TrainConfig(steps=10)) for s in range(3)] == [1.0, 1.0, 1.0]  # no warm-up by default
    with pytest.raises(ValueError, match="train.warmup_steps must be an integer >= 0"):
        TrainConfig(warmup_steps=-1)
