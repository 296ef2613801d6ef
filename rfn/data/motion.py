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
generator state.

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

__all__ = ["MAX_SPEED", "WALLS", "Bounces", "simulate_bounces"]

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
    """

    positions: np.ndarray
    velocities: np.ndarray
    events: np.ndarray
    limit: int


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
    start = rng.integers(0, limit + 1, size=(num_objects, 2)).tolist()
    vel0 = rng.integers(-MAX_SPEED, MAX_SPEED + 1, size=(num_objects, 2)).tolist()
    table = rng.integers(0, _TABLE_SIZE, size=(seq_len, num_objects, 2)).tolist()

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
            if t > 0:
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
    return Bounces(positions=positions, velocities=velocities, events=events, limit=limit)
