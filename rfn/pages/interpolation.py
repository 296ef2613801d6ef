"""Notebook 07, interpolating the RFN's latent states: two sequences from one frame, decoded in between.

:func:`two_paths` makes two one-digit SM-MNIST sequences that share their first frame and
then part (one digit, two velocities, reflected at the walls); :func:`interpolate` decodes a
straight line between their posterior states ``(h_t, z_t)`` frame by frame with
``model.emit``; the figures show the decoded grid, each row's centre-of-mass path, and the
pixel blend that a smooth latent space should not look like.

Example:
    >>> import numpy as np
    >>> p = reflected_path(np.array([2, 2]), (-3, 1), frames=3, limit=4)
    >>> p[0].tolist(), p[1].tolist()  # positions [T, 2] and wall hits [T, 4]
    ([[2, 2], [0, 3], [3, 4]], [[False, False, False, False], [True, False, False, False], \
[False, False, False, False]])
"""

from __future__ import annotations

import numpy as np
import torch

from rfn import viz
from rfn.data import StochasticMovingMNIST, Trajectory
from rfn.metrics.frames import centre_of_mass

__all__ = ["blend_figure", "interpolate", "interpolation_figure", "paths_figure", "reflected_path", "two_paths"]


def reflected_path(start: np.ndarray, velocity: tuple[int, int], frames: int, limit: int):
    """Positions ``int64 [T, 2]`` (row, column) from ``start`` at constant ``velocity``, reflected at 0 and ``limit``.

    Returns ``(positions, events)``: ``events`` ``bool [T, 4]`` marks a hit of the top, bottom, left, right wall.
    """
    pos, vel = np.array(start, dtype=np.int64), np.array(velocity, dtype=np.int64)
    positions, events = [], np.zeros((frames, 4), dtype=bool)
    velocities = []
    for t in range(frames):
        if t > 0:
            pos = pos + vel
        for axis in range(2):
            if pos[axis] < 0 or pos[axis] > limit:
                events[t, 2 * axis + int(pos[axis] > limit)] = True
                pos[axis] = min(max(pos[axis], 0), limit)
                vel[axis] = -vel[axis]
        positions.append(pos.copy())
        velocities.append(vel.copy())
    return np.stack(positions), events, np.stack(velocities)


def two_paths(ds: StochasticMovingMNIST, speed: int) -> tuple[torch.Tensor, dict[str, dict]]:
    """The digit of ``ds``'s first sequence from the canvas centre along two velocities at roughly right angles.

    Returns:
        ``(x, info)``: ``uint8 [2, T, 1, H, W]`` sequences A and B (frame 0 shared) and, per name, the
        initial velocity and the frames where the digit hits a wall.
    """
    base = ds.trajectory(0)
    limit = ds.image_size - ds.digit_size
    centre = np.array([limit // 2, limit // 2])
    videos, info = [], {}
    for name, vel in (("A", (-speed, speed)), ("B", (speed, speed // 2 + 1))):
        pos, events, vels = reflected_path(centre, vel, ds.seq_len, limit)
        traj = Trajectory(digits=base.digits, positions=pos[:, None], velocities=vels[:, None], events=events[:, None])
        videos.append(ds.render(traj))
        info[name] = {"velocity (vy, vx)": vel, "wall hits at frames": np.nonzero(events.any(1))[0].tolist()}
    x = torch.from_numpy(np.stack(videos)).unsqueeze(2)
    if not torch.equal(x[0, 0], x[1, 0]):
        raise AssertionError("the two sequences must share their first frame")
    return x, info


@torch.no_grad()
def interpolate(model, x: torch.Tensor, weights: torch.Tensor, temperature: float, seed: int = 0) -> torch.Tensor:
    """Decode ``(1 - w) (h, z)^A + w (h, z)^B`` for every weight, each row feeding back its own frames.

    Args:
        x: ``uint8 [2, T, 1, H, W]`` sequences A and B that share frame 0.
        weights: ``[W]`` interpolation weights in ``[0, 1]``.
        temperature: the flow's temperature when decoding.

    Returns:
        ``uint8 [W, T, 1, H, W]``: frame 0 (shared) then the decoded frames.
    """
    device = next(model.parameters()).device
    post = model.infer(x.to(device), temperature=0.0)  # posterior means: each sequence's best explanation
    h, z = post["h"], post["z"]
    w = weights.to(device).view(-1, 1, 1, 1)
    torch.manual_seed(seed)
    frames = [x[0, 0].expand(len(weights), -1, -1, -1).to(device)]
    for t in range(h.shape[1]):
        h_w, z_w = (1 - w) * h[0, t] + w * h[1, t], (1 - w) * z[0, t] + w * z[1, t]
        frames.append(model.emit(h_w, z_w, frames[-1], temperature=temperature))
    return torch.stack(frames, 1).cpu()


def interpolation_figure(x: torch.Tensor, interp: torch.Tensor, weights, title: str):
    """Truth A, one row per weight, truth B; frames counted from 1 (frame 1 is the shared one)."""
    import matplotlib.pyplot as plt

    rows = torch.cat([x[:1], interp, x[1:]], 0)
    labels = ["truth A"] + [f"w = {w:.2f}" for w in weights] + ["truth B"]
    fig, ax = plt.subplots(figsize=(1.25 * rows.shape[1] + 1.5, 1.25 * len(rows)))
    viz.show_video_grid(ax, rows, labels, scale=3)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def paths_figure(x: torch.Tensor, interp: torch.Tensor, weights, title: str):
    """Each decoded sequence in one image (later frames brighter), and the centre-of-mass paths of all rows."""
    import matplotlib.pyplot as plt

    t, size = interp.shape[1], interp.shape[-1]
    fade = np.linspace(0.25, 1.0, t)
    overlay = (interp.squeeze(2).double().numpy() / 255.0 * fade[None, :, None, None]).max(1)
    com_interp, com_truth = centre_of_mass(interp).numpy(), centre_of_mass(x).numpy()
    colours = plt.cm.viridis(np.linspace(0, 1, len(weights)))
    fig = plt.figure(figsize=(2.0 * len(weights) + 4.5, 3.6))
    gs = fig.add_gridspec(1, len(weights) + 2, width_ratios=[1] * len(weights) + [0.15, 2.2])
    for i, w in enumerate(weights):
        ax = fig.add_subplot(gs[0, i])
        ax.imshow(overlay[i], cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"w = {w:.2f}", fontsize=9)
        ax.set_axis_off()
    ax = fig.add_subplot(gs[0, -1])
    for i, w in enumerate(weights):
        ax.plot(com_interp[i, :, 1], com_interp[i, :, 0], "-o", ms=3, color=colours[i], label=f"w={w:.2f}")
    for k, style in ((0, "k--"), (1, "k:")):
        ax.plot(com_truth[k, :, 1], com_truth[k, :, 0], style, lw=1.5, label=f"truth {'AB'[k]}")
    ax.set(xlim=(0, size), ylim=(size, 0), aspect="equal", xlabel="column (px)", ylabel="row (px)")
    ax.set_title("centre of mass over time")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.suptitle(title, y=1.02)
    return fig


def blend_figure(latent: torch.Tensor, pixel_blend: torch.Tensor, weight: float):
    """The middle interpolation row against the pixel-wise blend of the two videos."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1.0 * latent.shape[0] + 1.5, 2.4))
    viz.show_video_grid(ax, torch.stack([latent, pixel_blend]), ["latent interpolation", "pixel blend"], scale=2)
    ax.set_title(f"w = {weight:.2f}: interpolating the latent states against blending the pixels")
    fig.tight_layout()
    return fig
