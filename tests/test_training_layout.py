"""Resuming with another memory layout: the optimiser state follows each parameter's layout."""

import torch

from rfn.training.optim import match_state_layout


def _adam_after_one_step(weight: torch.Tensor, grad: torch.Tensor) -> torch.optim.Adam:
    p = torch.nn.Parameter(weight.clone())
    opt = torch.optim.Adam([p], lr=1e-2, fused=True)
    p.grad = grad.clone()
    opt.step()
    return opt


def _second_step(channels_last: bool, fix: bool) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    w, g1, g2 = (torch.randn(4, 3, 5, 5, generator=g, dtype=torch.float64) for _ in range(3))
    saved = _adam_after_one_step(w, g1).state_dict()  # written in the default (contiguous) layout
    p = torch.nn.Parameter(w.clone())
    if channels_last:
        p.data = p.data.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.Adam([p], lr=1e-2, fused=True)
    opt.load_state_dict(saved)
    if fix:
        match_state_layout(opt)
    p.grad = g2.clone().contiguous(memory_format=torch.channels_last) if channels_last else g2.clone()
    opt.step()
    return p.detach().contiguous()


def test_state_gets_the_parameter_layout():
    p = torch.nn.Parameter(torch.randn(2, 3, 4, 4).contiguous(memory_format=torch.channels_last))
    opt = torch.optim.Adam([p])
    opt.state[p] = {"exp_avg": torch.randn(2, 3, 4, 4), "step": torch.tensor(1.0)}
    before = opt.state[p]["exp_avg"].clone()
    match_state_layout(opt)
    assert opt.state[p]["exp_avg"].stride() == p.stride()
    assert torch.equal(opt.state[p]["exp_avg"], before)


def test_resume_in_channels_last_matches_the_contiguous_resume():
    reference = _second_step(channels_last=False, fix=True)
    assert torch.allclose(_second_step(channels_last=True, fix=True), reference, rtol=0, atol=1e-12)
