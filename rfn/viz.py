"""Pictures of videos: frame strips, grids, GIF/MP4 animations and the book's plot style.

Everything takes ``uint8`` videos shaped ``[N, T, C, H, W]`` (a single video
``[T, C, H, W]`` is accepted too), as the data sets and samplers produce
them, with ``C`` 1 (grayscale) or 3 (RGB). Strips put one sequence per row
and time along the columns; optionally the first ``context`` frames of each
row get a coloured frame (green) and the predicted ones another (red), the
convention of video prediction papers. Only numpy and Pillow are needed;
matplotlib / seaborn are imported inside :func:`set_book_style` and the
ffmpeg writer inside :func:`save_gif` for ``.mp4`` files.

Example:
    >>> import torch
    >>> videos = torch.zeros(2, 5, 1, 8, 8, dtype=torch.uint8)
    >>> video_grid(videos, pad=1).shape
    (19, 46, 3)
    >>> video_grid(videos, pad=1, context=2).shape  # a 1-pixel border around each frame
    (23, 56, 3)
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = [
    "CONTEXT_COLOUR",
    "PREDICTED_COLOUR",
    "frames_figure",
    "image_grid",
    "save_gif",
    "save_strip",
    "set_book_style",
    "video_frames",
    "video_grid",
]

CONTEXT_COLOUR = (44, 160, 44)
"""Border of conditioning (observed) frames."""
PREDICTED_COLOUR = (214, 39, 40)
"""Border of predicted (generated) frames."""


def _as_videos(videos) -> np.ndarray:
    """Any tensor / array ``[N, T, C, H, W]`` or ``[T, C, H, W]`` -> ``uint8 [N, T, H, W, 3]``."""
    if hasattr(videos, "detach"):
        videos = videos.detach().cpu().numpy()
    v = np.asarray(videos)
    if v.dtype != np.uint8:
        raise TypeError(
            f"videos must be uint8 in 0..255, got {v.dtype}; convert model floats with rfn.pixels.to_uint8 first"
        )
    if v.ndim == 4:
        v = v[None]
    if v.ndim != 5 or v.shape[2] not in (1, 3):
        raise ValueError(f"videos must be shaped [N, T, C, H, W] (or [T, C, H, W]) with C in (1, 3), got {v.shape}")
    v = np.moveaxis(v, 2, -1)
    return np.repeat(v, 3, axis=-1) if v.shape[-1] == 1 else v


def image_grid(
    images: np.ndarray,
    ncols: int,
    pad: int = 2,
    background: int | tuple[int, int, int] = 255,
    borders: list[tuple[int, int, int] | None] | None = None,
    border: int = 1,
    scale: int = 1,
) -> np.ndarray:
    """Tile RGB images ``uint8 [K, H, W, 3]`` in rows of ``ncols``.

    Args:
        images: the tiles, row-major.
        ncols: tiles per row.
        pad: separator width in pixels (also around the whole grid).
        background: separator colour (gray level or RGB).
        borders: per tile an RGB colour of a frame drawn around it, or None;
            with any colour given every tile gets room for a frame.
        border: width of those frames.
        scale: integer nearest-neighbour magnification of each tile.

    Returns:
        ``uint8 [H', W', 3]``.
    """
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must be [K, H, W, 3], got {images.shape}")
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 1:
        raise ValueError(f"scale must be a positive whole number (a magnification), got {scale!r}")
    if scale > 1:
        images = images.repeat(scale, axis=1).repeat(scale, axis=2)
    k, h, w, _ = images.shape
    b = border if borders is not None and any(c is not None for c in borders) else 0
    ncols = max(1, min(ncols, k))
    nrows = -(-k // ncols)
    ch, cw = h + 2 * b, w + 2 * b
    out = np.empty((pad + nrows * (ch + pad), pad + ncols * (cw + pad), 3), dtype=np.uint8)
    out[...] = background
    for i in range(k):
        r, c = divmod(i, ncols)
        y, x = pad + r * (ch + pad), pad + c * (cw + pad)
        if b and borders[i] is not None:
            out[y : y + ch, x : x + cw] = borders[i]
        out[y + b : y + b + h, x + b : x + b + w] = images[i]
    return out


def video_grid(
    videos,
    context: int | None = None,
    pad: int = 2,
    background: int | tuple[int, int, int] = 255,
    border: int = 1,
    scale: int = 1,
    context_colour: tuple[int, int, int] = CONTEXT_COLOUR,
    predicted_colour: tuple[int, int, int] = PREDICTED_COLOUR,
) -> np.ndarray:
    """One sequence per row, time along the columns.

    Args:
        videos: ``uint8 [N, T, C, H, W]`` (tensor or array) or one video ``[T, C, H, W]``.
        context: if given, frames ``t < context`` get a ``context_colour`` frame and the
            others a ``predicted_colour`` frame.
        pad: separator width in pixels.
        background: separator colour.
        border: width of the context / predicted frames.
        scale: integer magnification of each frame.

    Returns:
        ``uint8 [H', W', 3]``.
    """
    v = _as_videos(videos)
    n, t = v.shape[:2]
    borders = None
    if context is not None:
        borders = [context_colour if j < context else predicted_colour for _ in range(n) for j in range(t)]
    return image_grid(v.reshape(n * t, *v.shape[2:]), t, pad, background, borders, border, scale)


def video_frames(
    videos,
    ncols: int | None = None,
    context: int | None = None,
    pad: int = 2,
    background: int | tuple[int, int, int] = 255,
    border: int = 1,
    scale: int = 1,
) -> np.ndarray:
    """Animation frames: at each time step the ``N`` sequences side by side.

    Returns:
        ``uint8 [T, H', W', 3]``, frame ``t`` showing every sequence at time ``t``
        in rows of ``ncols`` (default: all in one row, at most 8 per row).
    """
    v = _as_videos(videos)
    n, t = v.shape[:2]
    ncols = min(n, 8) if ncols is None else ncols
    out = []
    for j in range(t):
        borders = None
        if context is not None:
            borders = [CONTEXT_COLOUR if j < context else PREDICTED_COLOUR] * n
        out.append(image_grid(v[:, j], ncols, pad, background, borders, border, scale))
    return np.stack(out)


def save_strip(path: str | os.PathLike, videos, **kwargs) -> Path:
    """Write :func:`video_grid` of ``videos`` as a PNG; returns the path. ``kwargs`` go to :func:`video_grid`."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(video_grid(videos, **kwargs)).save(path)
    return path


def save_gif(
    path: str | os.PathLike,
    videos,
    fps: float = 4.0,
    loop: int = 0,
    **kwargs,
) -> Path:
    """Write an animation of ``videos`` (all sequences side by side, see :func:`video_frames`).

    The suffix picks the format: ``.gif`` (Pillow) or ``.mp4`` (H.264 through
    imageio-ffmpeg; odd sizes are padded by one pixel, as the codec needs even
    sides).

    Args:
        path: output file, ``.gif`` or ``.mp4``.
        videos: ``uint8 [N, T, C, H, W]`` or ``[T, C, H, W]``.
        fps: frames per second.
        loop: GIF loop count (0 = forever).
        **kwargs: passed to :func:`video_frames` (``ncols``, ``context``, ``scale``, ...).

    Returns:
        the path written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise ValueError(f"cannot write {path}: the suffix must be .gif or .mp4")
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    frames = video_frames(videos, **kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".gif":
        from PIL import Image

        images = [Image.fromarray(f) for f in frames]
        images[0].save(
            path, save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=loop, optimize=False
        )
        return path
    import imageio.v2 as imageio

    t, h, w, _ = frames.shape
    if h % 2 or w % 2:
        bg = kwargs.get("background", 255)
        even = np.empty((t, h + h % 2, w + w % 2, 3), dtype=np.uint8)
        even[...] = bg
        even[:, :h, :w] = frames
        frames = even
    writer = imageio.get_writer(
        path,
        format="FFMPEG",
        fps=fps,
        codec="libx264",
        pixelformat="yuv420p",
        macro_block_size=1,
        ffmpeg_log_level="error",
    )
    try:
        for f in frames:
            writer.append_data(f)
    finally:
        writer.close()
    return path


def set_book_style(context: str = "notebook") -> None:
    """Apply the plot style of the book (seaborn ``whitegrid``, colour-blind palette, crisp pixels).

    Args:
        context: seaborn scaling context (``"paper"``, ``"notebook"``, ``"talk"``).
    """
    import matplotlib as mpl
    import seaborn as sns

    sns.set_theme(context=context, style="whitegrid", palette="colorblind")
    mpl.rcParams.update(
        {
            "figure.dpi": 110,
            "savefig.dpi": 150,
            "savefig.bbox": "tight",
            "axes.spines.top": False,
            "axes.spines.right": False,
            "image.interpolation": "nearest",  # frames are pixels, not photographs to smooth
            "image.cmap": "gray",
        }
    )


def show_video_grid(
    ax,
    videos,
    row_labels: list[str],
    context: int | None = None,
    first_frame: int = 1,
    scale: int = 2,
    pad: int = 2,
    border: int = 1,
    xlabel: str = "frame t",
) -> np.ndarray:
    """Draw :func:`video_grid` of ``videos`` on a matplotlib axes with one label per row and frame numbers.

    Args:
        ax: the axes.
        videos: ``uint8 [N, T, C, H, W]``; ``row_labels`` has N entries.
        row_labels: the y tick labels, one per sequence.
        context: coloured frames as in :func:`video_grid` (green context, red predicted).
        first_frame: the number of the frame in column 0 (x ticks are integers from it); frames are
            counted from 1 in every figure of the book (book/notation.md).
        scale, pad, border: as in :func:`video_grid`.
        xlabel: the x-axis label.

    Returns:
        The drawn image ``uint8 [H', W', 3]``.
    """
    grid = video_grid(videos, context=context, pad=pad, border=border, scale=scale)
    v = _as_videos(videos)
    if len(row_labels) != v.shape[0]:
        raise ValueError(f"row_labels has {len(row_labels)} entries for {v.shape[0]} sequences; give one per row")
    b = border if context is not None else 0
    cell_h, cell_w = v.shape[2] * scale + 2 * b + pad, v.shape[3] * scale + 2 * b + pad
    ax.imshow(grid)
    ax.set_yticks([pad + (r + 0.5) * cell_h - pad / 2 for r in range(v.shape[0])], row_labels)
    ax.set_xticks(
        [pad + (t + 0.5) * cell_w - pad / 2 for t in range(v.shape[1])],
        [str(first_frame + t) for t in range(v.shape[1])],
    )
    ax.tick_params(length=0)
    ax.set_xlabel(xlabel)
    ax.grid(False)
    return grid


def figure_problems(fig) -> list[str]:
    """What a book figure lacks, one line each (empty when it has a title and every panel is labelled).

    A figure needs a title (``suptitle`` or a title on every panel); a panel that plots data needs
    x and y labels; an image panel needs a title or row labels (y tick labels or a y label).
    Colour bars are not panels.
    """
    problems = []
    suptitle = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) is not None else ""
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>" and ax.has_data()]
    if not suptitle and not all(ax.get_title() for ax in panels):
        problems.append("no figure title (fig.suptitle) and a panel without a title")
    labelled_rows, labelled_cols = _labelled_grid_lines(panels)
    for i, ax in enumerate(panels):
        name = f"panel {i} ({ax.get_title() or 'untitled'})"
        if ax.images:
            row, col = _grid_cell(ax)
            in_labelled_grid = (row is not None and row in labelled_rows) or (col is not None and col in labelled_cols)
            if not (_names_itself(ax) or in_labelled_grid):
                problems.append(f"{name}: an image without a title or row labels")
        elif not (ax.get_xlabel() and ax.get_ylabel()):
            problems.append(f"{name}: missing x or y label")
    return problems


def _names_itself(ax) -> bool:
    """An image panel with its own title, y label or y tick labels."""
    return bool(ax.get_title() or ax.get_ylabel() or any(t.get_text() for t in ax.get_yticklabels()))


def _grid_cell(ax) -> tuple[int | None, int | None]:
    """``(row, column)`` of a subplot in its grid, ``(None, None)`` for a free-standing axes."""
    spec = ax.get_subplotspec() if hasattr(ax, "get_subplotspec") else None
    if spec is None:
        return None, None
    return spec.rowspan.start, spec.colspan.start


def _labelled_grid_lines(panels) -> tuple[set[int], set[int]]:
    """Rows of a grid whose image panels carry a row label, and columns that carry a title.

    In an image grid the row labels stand in the first column and the column titles in the
    first row; every other panel of that row or column is labelled by them.
    """
    rows, cols = set(), set()
    for ax in panels:
        if not ax.images:
            continue
        row, col = _grid_cell(ax)
        if row is not None and (ax.get_ylabel() or any(t.get_text() for t in ax.get_yticklabels())):
            rows.add(row)
        if col is not None and ax.get_title():
            cols.add(col)
    return rows, cols


def frames_figure(
    videos,
    row_labels: list[str],
    title: str,
    context: int | None = None,
    frame_numbers: list[int] | None = None,
    scale: int = 2,
):
    """One labelled row per video ``uint8 [N, T, C, H, W]``; x ticks are frame numbers (1-based by default).

    ``context``: the first frames get a green border, the others red (:func:`rfn.viz.video_grid`).
    ``frame_numbers``: the number under each column when the columns skip frames.
    """
    import matplotlib.pyplot as plt

    n, t, _, h, w = videos.shape
    fig, ax = plt.subplots(figsize=(min(16.0, 0.02 * t * (w * scale + 4) + 2.0), 0.02 * n * (h * scale + 4) + 1.0))
    show_video_grid(ax, videos, row_labels, context=context, first_frame=1, scale=scale)
    if frame_numbers is not None:
        if len(frame_numbers) != t:
            raise ValueError(f"frame_numbers has {len(frame_numbers)} entries for {t} columns; give one per column")
        ax.set_xticks(ax.get_xticks(), [str(k) for k in frame_numbers])
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig
