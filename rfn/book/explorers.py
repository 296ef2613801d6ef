"""Interactive explorers for the static book: precomputed images behind sliders and a hover map.

Jupyter Book renders a notebook's HTML outputs as they are, so a cell can leave a small
self-contained widget in the page: the images are embedded as base64 PNGs and the few lines
of JavaScript that switch between them are inline. Nothing is loaded from a network and no
kernel is needed, so the widgets work offline in the built HTML (and in a downloaded notebook
opened in Jupyter).

* :func:`temperature_explorer`: one slider per temperature over a grid of precomputed samples
  (e.g. flow and prior temperature of the RFN, the same sequence and the same random draws in
  every cell), the image of the chosen pair shown.
* :func:`scatter_explorer`: a 2-D map (e.g. t-SNE of Glow latents) drawn as SVG points; hovering
  a point shows the image it was computed from.

Each widget answers a self-test when the page's address ends in ``#rfn-selftest``: it moves its
controls or hovers its points from JavaScript, reads back what it displays and writes the outcome
into its ``data-selftest`` attribute, which ``python -m rfn.book check-explorers`` (headless
Chromium) reads.

Example:
    >>> import torch
    >>> grid = [(f, p) for f in (0.0, 1.0) for p in (0.5, 1.0)]
    >>> frames = {(f, p): torch.full((1, 4, 4), int(255 * f * p), dtype=torch.uint8) for f, p in grid}
    >>> html = temperature_explorer(frames, names=("flow", "prior"), title="demo")
    >>> html.count('type="range"'), "http" in html
    (2, False)
"""

from __future__ import annotations

import base64
import html as _html
import io
import itertools
import json

import numpy as np
import torch

__all__ = ["png_data_uri", "scatter_explorer", "temperature_explorer"]

_ids = itertools.count()


def _uid(kind: str) -> str:
    """A page-unique element id (several explorers may share a page)."""
    return f"rfn-{kind}-{next(_ids)}-{np.random.default_rng().integers(1 << 30):x}"


def _as_hwc(image) -> np.ndarray:
    a = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    if a.dtype != np.uint8:
        raise ValueError(f"images must be uint8 pixels, got dtype {a.dtype}")
    if a.ndim == 2:
        return a
    if a.ndim == 3 and a.shape[0] in (1, 3):
        a = np.moveaxis(a, 0, -1)
        return a[..., 0] if a.shape[-1] == 1 else a
    raise ValueError(f"an image must be [H, W], [1, H, W] or [3, H, W], got shape {tuple(a.shape)}")


def png_data_uri(image) -> str:
    """``data:image/png;base64,...`` of a ``uint8`` image ``[H, W]``, ``[1, H, W]`` or ``[3, H, W]``."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(_as_hwc(image)).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _strip(frames) -> np.ndarray:
    """A row of frames ``uint8 [T, C, H, W]`` (or one frame) as one image, 1-pixel grey gaps."""
    t = frames if isinstance(frames, torch.Tensor) else torch.as_tensor(np.asarray(frames))
    if t.dim() == 3:
        return _as_hwc(t)
    if t.dim() != 4:
        raise ValueError(f"frames must be [T, C, H, W] or [C, H, W], got shape {tuple(t.shape)}")
    gap = torch.full((t.shape[1], t.shape[2], 1), 128, dtype=torch.uint8)
    parts = [p for f in t for p in (f, gap)][:-1]
    return _as_hwc(torch.cat(parts, dim=2))


def temperature_explorer(
    images: dict[tuple[float, float], torch.Tensor],
    names: tuple[str, str] = ("flow τ", "prior τ"),
    title: str = "",
    scale: int = 4,
    caption: str = "",
) -> str:
    """HTML of two sliders over a grid of precomputed images, one per pair of values.

    Args:
        images: ``{(a, b): frames}`` for every pair of the two grids (frames ``uint8 [T, C, H, W]``
            shown as a strip, or one frame ``[C, H, W]``); every pair of the two value sets must be there.
        names: the two sliders' labels.
        scale: display magnification (pixels are drawn sharp).
    """
    if not images:
        raise ValueError("images is empty: pass {(a, b): frames} for every pair of the two grids")
    first = sorted({float(a) for a, _ in images})
    second = sorted({float(b) for _, b in images})
    missing = [(a, b) for a in first for b in second if (a, b) not in {(float(x), float(y)) for x, y in images}]
    if missing:
        raise ValueError(f"images must hold every pair of the two grids; missing {missing[:4]}")
    uris = {f"{float(a)}|{float(b)}": png_data_uri(_strip(v)) for (a, b), v in images.items()}
    width = _strip(next(iter(images.values()))).shape[1] * scale
    uid = _uid("temperature")
    a0, b0 = len(first) - 1, len(second) - 1
    sliders = "".join(
        f'<label style="margin-right:1.5em">{_html.escape(n)} '
        f'<input type="range" min="0" max="{len(v) - 1}" step="1" value="{start}" data-axis="{i}"> '
        f"<output>{v[start]:g}</output></label>"
        for i, (n, v, start) in enumerate(((names[0], first, a0), (names[1], second, b0)))
    )
    script = f"""(function () {{
  const root = document.getElementById({json.dumps(uid)});
  const values = [{json.dumps(first)}, {json.dumps(second)}];
  const uris = {json.dumps(uris)};
  const img = root.querySelector("img"), inputs = root.querySelectorAll("input");
  function show() {{
    const v = [...inputs].map((el, i) => values[i][+el.value]);
    inputs.forEach((el, i) => {{ el.nextElementSibling.textContent = String(v[i]); }});
    const k = Object.keys(uris).find((s) => {{
      const p = s.split("|").map(Number);
      return p[0] === v[0] && p[1] === v[1];
    }});
    img.src = uris[k]; img.dataset.pair = k;
  }}
  inputs.forEach((el) => el.addEventListener("input", show));
  show();
  if (location.hash === "#rfn-selftest") {{
    const before = img.src; inputs[0].value = 0; inputs[0].dispatchEvent(new Event("input"));
    const after = img.src; inputs[1].value = 0; inputs[1].dispatchEvent(new Event("input"));
    const pairs = new Set(); for (let i = 0; i < values[0].length; i++) for (let j = 0; j < values[1].length; j++) {{
      inputs[0].value = i; inputs[1].value = j; inputs[0].dispatchEvent(new Event("input")); pairs.add(img.src); }}
    const cells = values[0].length * values[1].length;
    root.dataset.selftest = JSON.stringify({{changed: before !== after, distinct: pairs.size, cells: cells}});
  }}
}})();"""
    return (
        f'<div class="rfn-explorer rfn-temperature-explorer" id="{uid}" style="font-size:0.9em">'
        + (f"<div><strong>{_html.escape(title)}</strong></div>" if title else "")
        + f'<img alt="samples at the chosen temperatures" style="image-rendering:pixelated;width:{width}px;'
        f'max-width:100%;display:block;margin:0.4em 0">'
        + f"<div>{sliders}</div>"
        + (f'<div style="color:#555">{_html.escape(caption)}</div>' if caption else "")
        + f"<script>{script}</script></div>"
    )


def scatter_explorer(
    points, labels, images, title: str = "", size: int = 420, image_scale: int = 4, palette=None
) -> str:
    """HTML of an SVG scatter map whose points show their image when hovered.

    Args:
        points: ``[N, 2]`` coordinates (e.g. a t-SNE map); labels: ``[N]`` integer classes (colours).
        images: ``uint8 [N, H, W]`` or ``[N, C, H, W]``, the image behind each point.
        palette: colours per class (default: matplotlib's ``tab10``).
    """
    pts = np.asarray(points, dtype=float)
    lab = np.asarray(labels)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"points must be [N, 2], got shape {pts.shape}")
    if lab.shape != (pts.shape[0],) or len(images) != pts.shape[0]:
        raise ValueError(
            f"labels and images need one entry per point ({pts.shape[0]}), got {lab.shape} and {len(images)}"
        )
    if palette is None:
        from matplotlib import colormaps
        from matplotlib.colors import to_hex

        palette = [to_hex(c) for c in colormaps["tab10"].colors]
    lo, hi = pts.min(0), pts.max(0)
    xy = 8 + (pts - lo) / np.where(hi > lo, hi - lo, 1.0) * (size - 16)
    uid = _uid("scatter")
    circles = "".join(
        f'<circle cx="{x:.1f}" cy="{size - y:.1f}" r="3" fill="{palette[int(c) % len(palette)]}" data-i="{i}"/>'
        for i, ((x, y), c) in enumerate(zip(xy, lab))
    )
    uris = [png_data_uri(img) for img in images]
    first = _as_hwc(images[0])
    script = f"""(function () {{
  const root = document.getElementById({json.dumps(uid)});
  const uris = {json.dumps(uris)}, labels = {json.dumps([int(c) for c in lab])};
  const img = root.querySelector("img"), text = root.querySelector(".rfn-label");
  function show(i) {{
    img.src = uris[i]; img.dataset.index = i;
    text.textContent = "class " + labels[i] + " (point " + i + ")";
  }}
  root.querySelectorAll("circle").forEach((c) => c.addEventListener("mouseover", () => show(+c.dataset.i)));
  if (location.hash === "#rfn-selftest") {{
    const c = root.querySelectorAll("circle"), k = c.length - 1;
    c[k].dispatchEvent(new MouseEvent("mouseover"));
    const shown = img.dataset.index === String(k) && img.src.startsWith("data:image/png");
    root.dataset.selftest = JSON.stringify({{shown: shown, label: text.textContent}});
  }}
}})();"""
    return (
        f'<div class="rfn-explorer rfn-scatter-explorer" id="{uid}" style="font-size:0.9em">'
        + (f"<div><strong>{_html.escape(title)}</strong></div>" if title else "")
        + '<div style="display:flex;gap:1em;align-items:flex-start;flex-wrap:wrap">'
        + f'<svg viewBox="0 0 {size} {size}" width="{size}" height="{size}" '
        'style="max-width:100%;border:1px solid #ddd">'
        + circles
        + "</svg>"
        + f'<div><img alt="hover a point" style="image-rendering:pixelated;width:{first.shape[1] * image_scale}px;'
        f'border:1px solid #ddd"><div class="rfn-label">hover a point</div></div></div>'
        + f"<script>{script}</script></div>"
    )
