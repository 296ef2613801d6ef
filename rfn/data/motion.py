"""Stochastic bouncing motion: the random part of Stochastic Moving MNIST.

Denton & Fergus (2018, SVG) made Moving MNIST stochastic by redrawing the
velocity whenever a digit reaches a wall. This module simulates that motion on
an integer grid for any number of objects; :mod:`rfn.data.smmnist` draws
digits along the paths and :mod:`rfn.data.textured` draws coloured shapes.

The rule, per object and frame ``t``:

1. move: ``p_t = p_{t-1} + v_{t-1}`` (frame 0 uses the start position);
2. if ``p_t`` left ``[0, limit]`` on an axis, clamp it to the wall it crossed
   and redraw the velocity: the component normal to that wall gets a
   magnitude in ``{1..4}`` pointing back inside, the other component a value
   in ``{-4..4}``. When two walls are crossed at once (a corner) both
   components are normal, so both point away from their walls;
3. draw the object at ``p_t``; ``v_t`` is the velocity that leads to frame ``t+1``.

Start positions are uniform in ``{0..limit}`` per axis and start velocities
uniform in ``{-4..4}`` per axis. Two departures from SVG's loop, both chosen
so the stated rule holds exactly: SVG clamps at ``limit - 1`` (its last
column is never reached) and, in a corner, its second redraw overwrites the
first wall's normal component so the object can leave that wall moving into
it. ``deterministic=True`` gives the classic Moving MNIST bounce (the normal
component flips sign, the other one is kept).

Every random number is drawn up front in a fixed order (start positions,
start velocities, then one table of redraw values per frame), so a path of
``T`` frames is the prefix of the path of ``T + k`` frames drawn from the same
generator state. :func:`continue_bounces` continues a path from any frame's
state (positions and velocities) with fresh redraws, i.e. samples the true
process given that state; fed the original redraws it replays the path.

Example:
    >>> import numpy as np
    >>> path = simulate_bounces(np.random.default_rng(0), num_objects=2, seq_len=30, limit=32)
    >>> path.positions.shape, path.velocities.shape, path.events.shape
    ((30, 2, 2), (30, 2, 2), (30, 2, 4))
    >>> bool(((path.positions >= 0) & (path.positions <= 32)).all())
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MAX_SPEED", "WALLS", "Bounces", "continue_bounces", "simulate_bounces"]

MAX_SPEED = 4
"""Largest speed per axis, in pixels per frame (SVG's value)."""

WALLS = ("top", "bottom", "left", "right")
"""Order of the last axis of :attr:`Bounces.events`."""

# One draw in 0..35 gives both possible redraws of a component independently
# and exactly uniformly: ``1 + r % 4`` (a normal magnitude in 1..4) and
# ``r // 4 - 4`` (a tangential value in -4..4).
_TABLE_SIZE = 4 * (2 * MAX_SPEED + 1)


@dataclass(frozen=True)
class Bounces:
    """Paths of ``D`` objects over ``T`` frames on an integer grid.

    Attributes:
        positions: ``int64 [T, D, 2]`` top-left corner ``(y, x)`` of each object in each frame.
        velocities: ``int64 [T, D, 2]`` velocity ``(vy, vx)`` after frame ``t``'s bounce,
            i.e. the step from frame ``t`` to frame ``t + 1``.
        events: ``bool [T, D, 4]`` whether object ``d`` hit the top, bottom, left or
            right wall (see :data:`WALLS`) at frame ``t``.
        limit: largest allowed coordinate; positions lie in ``[0, limit]``.
        draws: ``int64 [T, D, 2]`` the redraw table in ``0..35`` (row ``t`` is used when object ``d``
            hits a wall at frame ``t``); :func:`continue_bounces` takes its rows to replay a path.
    """

    positions: np.ndarray
    velocities: np.ndarray
    events: np.ndarray
    limit: int
    draws: np.ndarray | None = None


def simulate_bounces(
    rng: np.random.Generator,
    num_objects: int,
    seq_len: int,
    limit: int,
    deterministic: bool = False,
) -> Bounces:
    """Simulate the bouncing paths of ``num_objects`` objects.

    Args:
        rng: source of every random number (consumed in a fixed order, see the module docstring).
        num_objects: number of objects ``D`` (>= 1).
        seq_len: number of frames ``T`` (>= 1).
        limit: largest coordinate of an object's top-left corner on both axes
            (canvas size minus object size, >= 0).
        deterministic: flip the normal component at a wall instead of redrawing.

    Returns:
        the :class:`Bounces` of all objects.
    """
    if num_objects < 1:
        raise ValueError(f"num_objects must be >= 1, got {num_objects}")
    if seq_len < 1:
        raise ValueError(f"seq_len must be >= 1, got {seq_len}")
    if limit < 0:
        raise ValueError(f"limit must be >= 0 (the object must fit in the canvas), got {limit}")
    start = rng.integers(0, limit + 1, size=(num_objects, 2))
    vel0 = rng.integers(-MAX_SPEED, MAX_SPEED + 1, size=(num_objects, 2))
    draws = rng.integers(0, _TABLE_SIZE, size=(seq_len, num_objects, 2))
    return _run(start, vel0, draws, limit, deterministic, first_moves=False)


def continue_bounces(
    positions: np.ndarray,
    velocities: np.ndarray,
    steps: int,
    limit: int,
    rng: np.random.Generator | None = None,
    draws: np.ndarray | None = None,
    deterministic: bool = False,
) -> Bounces:
    """Continue paths from one frame's state under the same rule, with fresh (or given) redraws.

    The state of frame ``t`` (``positions[t]``, ``velocities[t]`` of a :class:`Bounces`) holds all that the
    motion after ``t`` depends on besides the redraws at later bounces; this draws those afresh, which is
    sampling the true process given the state. With ``draws`` equal to the redraw table of the original path
    from frame ``t + 1`` on (``path.draws[t + 1 :]``), the continuation equals the original path exactly.

    Args:
        positions: ``int [D, 2]`` top-left ``(y, x)`` of each object in the last known frame.
        velocities: ``int [D, 2]`` the step from that frame to the next one.
        steps: frames to simulate after it ``K`` (>= 1).
        limit: largest coordinate (canvas size minus object size).
        rng: draws the redraw table (``steps`` x ``D`` x 2 integers) when ``draws`` is None.
        draws: ``int [steps, D, 2]`` in ``0..35``: the redraw table to use instead of drawing one.
        deterministic: flip the normal component at a wall instead of redrawing.

    Returns:
        :class:`Bounces` of the ``K`` frames after the given one (it is not repeated).
    """
    positions, velocities = np.asarray(positions), np.asarray(velocities)
    if positions.ndim != 2 or positions.shape[1] != 2 or velocities.shape != positions.shape:
        raise ValueError(
            f"positions and velocities must both be shaped [D, 2], got {positions.shape} and {velocities.shape}"
        )
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if limit < 0 or positions.min() < 0 or positions.max() > limit:
        raise ValueError(f"positions must lie in [0, limit={limit}], got values {positions.min()}..{positions.max()}")
    if np.abs(velocities).max() > MAX_SPEED:
        raise ValueError(f"velocities must lie in [-{MAX_SPEED}, {MAX_SPEED}], got {velocities.tolist()}")
    shape = (steps, len(positions), 2)
    if draws is None:
        if rng is None:
            raise ValueError("give rng (fresh redraws) or draws (a redraw table), not neither")
        draws = rng.integers(0, _TABLE_SIZE, size=shape)
    draws = np.asarray(draws)
    if draws.shape != shape or draws.min() < 0 or draws.max() >= _TABLE_SIZE:
        raise ValueError(f"draws must be integers in 0..{_TABLE_SIZE - 1} shaped {shape}, got {draws.shape}")
    return _run(positions, velocities, draws, limit, deterministic, first_moves=True)


def _run(
    start: np.ndarray, vel0: np.ndarray, draws: np.ndarray, limit: int, deterministic: bool, first_moves: bool
) -> Bounces:
    """Apply the rule for ``len(draws)`` frames from ``start``; frame 0 moves first only if ``first_moves``."""
    seq_len, num_objects = draws.shape[:2]
    table, start, vel0 = draws.tolist(), np.asarray(start).tolist(), np.asarray(vel0).tolist()
    positions = np.empty((seq_len, num_objects, 2), dtype=np.int64)
    velocities = np.empty((seq_len, num_objects, 2), dtype=np.int64)
    events = np.zeros((seq_len, num_objects, 4), dtype=bool)
    pos_list = [[None] * num_objects for _ in range(seq_len)]
    vel_list = [[None] * num_objects for _ in range(seq_len)]
    hits: list[tuple[int, int, int]] = []
    # Plain Python integers: with a handful of objects this loop is several
    # times faster than numpy operations on arrays of two elements.
    for d in range(num_objects):
        y, x = start[d]
        vy, vx = vel0[d]
        for t in range(seq_len):
            if t > 0 or first_moves:
                y += vy
                x += vx
            hit_y = hit_x = 0  # +1: pushed back towards larger coordinates, -1: smaller
            if y < 0:
                y, hit_y = 0, 1
                hits.append((t, d, 0))
            elif y > limit:
                y, hit_y = limit, -1
                hits.append((t, d, 1))
            if x < 0:
                x, hit_x = 0, 1
                hits.append((t, d, 2))
            elif x > limit:
                x, hit_x = limit, -1
                hits.append((t, d, 3))
            if hit_y or hit_x:
                ry, rx = table[t][d]
                if deterministic:
                    vy = -vy if hit_y else vy
                    vx = -vx if hit_x else vx
                else:
                    vy = hit_y * (1 + ry % 4) if hit_y else ry // 4 - MAX_SPEED
                    vx = hit_x * (1 + rx % 4) if hit_x else rx // 4 - MAX_SPEED
            pos_list[t][d] = (y, x)
            vel_list[t][d] = (vy, vx)
    positions[...] = pos_list
    velocities[...] = vel_list
    for t, d, w in hits:
        events[t, d, w] = True
    return Bounces(positions=positions, velocities=velocities, events=events, limit=limit, draws=np.asarray(draws))
