"""Look at the built book the way a reader does: pages loaded in headless Chromium.

Chromium comes from the Debian package ``chromium`` (``apt-get install chromium``); nothing here
downloads a browser. Two checks use it:

* :func:`explorer_selftests`: loads a page with ``#rfn-selftest`` appended, which makes every
  interactive explorer (:mod:`rfn.book.explorers`) exercise itself; returns what each reported.
* :func:`layout_problems`: loads a page inside a measuring frame at a given window size and
  reports every image drawn below a fraction of its natural width (a squeezed multi-panel
  figure), every block wider than its container (a table or output cut off at the right) and,
  for the notebook pages, a first screen without a figure.

Example:
    >>> find_chromium() is None or find_chromium().name.startswith("chromium")
    True
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["BrowserError", "dump_dom", "explorer_selftests", "find_chromium", "layout_problems"]


class BrowserError(RuntimeError):
    """Chromium is missing or failed to load a page."""


def find_chromium() -> Path | None:
    """The Chromium executable on ``PATH`` (``chromium`` or ``chromium-browser``), or None."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


def dump_dom(url: str, width: int = 1280, height: int = 800, timeout: float = 90.0, extra=()) -> str:
    """The DOM of ``url`` after its scripts ran, from headless Chromium at ``width`` x ``height``."""
    exe = find_chromium()
    if exe is None:
        raise BrowserError("headless Chromium is needed for this check: install it with `apt-get install chromium`")
    with tempfile.TemporaryDirectory(prefix="rfn-chromium-") as profile:
        cmd = [str(exe), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               f"--user-data-dir={profile}", f"--window-size={width},{height}", "--virtual-time-budget=5000",
               *extra, "--dump-dom", url]  # fmt: skip
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as err:
            raise BrowserError(f"Chromium did not finish loading {url} within {timeout:.0f} s") from err
    if done.returncode != 0 or not done.stdout.strip():
        tail = done.stderr.strip().splitlines()[-1:] if done.stderr else []
        raise BrowserError(f"Chromium could not load {url} (exit {done.returncode}): {' '.join(tail)}")
    return done.stdout


def explorer_selftests(page: str | os.PathLike, **kw) -> list[dict]:
    """Every explorer's self-test report on ``page`` (an HTML file), in page order."""
    url = Path(page).resolve().as_uri() + "#rfn-selftest"
    dom = dump_dom(url, **kw)
    reports = []
    for match in re.finditer(r'<div class="rfn-explorer ([\w-]+)" id="([\w-]+)"[^>]*?data-selftest="([^"]*)"', dom):
        kind, uid, payload = match.groups()
        reports.append({"kind": kind, "id": uid, **json.loads(html.unescape(payload))})
    return reports


_MEASURE = """<!doctype html><html><body style="margin:0">
<iframe id="page" src="{src}" style="border:0;width:{width}px;height:{height}px"></iframe>
<pre id="report"></pre>
<script>
document.getElementById("page").addEventListener("load", function () {{
  const doc = this.contentDocument, out = [];
  doc.querySelectorAll("article img, main img").forEach(function (img) {{
    if (!img.naturalWidth || img.closest(".rfn-opening")) return;  // the opening preview is shown small on purpose
    const shown = img.getBoundingClientRect().width;
    if (shown < {fraction} * Math.min(img.naturalWidth, doc.querySelector("main, article, body").clientWidth))
      out.push({{kind: "squeezed image", what: img.getAttribute("src").slice(-60), shown: Math.round(shown),
                 natural: img.naturalWidth}});
  }});
  doc.querySelectorAll("article table, article pre, article .output, main table, main pre").forEach(function (el) {{
    const box = el.parentElement;
    if (el.scrollWidth > box.clientWidth + 2 && getComputedStyle(box).overflowX === "visible")
      out.push({{kind: "overflowing block",
                 what: el.tagName.toLowerCase() + " " + (el.textContent || "").trim().slice(0, 40),
                 width: el.scrollWidth, room: box.clientWidth}});
  }});
  if ({first_screen}) {{
    // a notebook page's first screen must hold a figure: an image or explorer with at least
    // {visible} px (or all of it, if shorter) inside the first {height} px of the page
    let best = null;
    doc.querySelectorAll("article img, main img, .rfn-explorer").forEach(function (el) {{
      const r = el.getBoundingClientRect();
      if (!r.height || !r.width) return;
      const inside = Math.min(r.bottom, {height}) - Math.max(r.top, 0);
      if (best === null || r.top < best.top) best = {{top: Math.round(r.top), height: Math.round(r.height),
                                                      inside: Math.round(inside)}};
    }});
    if (best === null || best.inside < Math.min({visible}, best.height))
      out.push({{kind: "no figure on the first screen", what: "first figure", first: best}});
  }}
  document.getElementById("report").textContent = JSON.stringify(out);
}});
</script></body></html>"""


def layout_problems(
    page: str | os.PathLike,
    width: int = 1280,
    height: int = 800,
    fraction: float = 0.6,
    first_screen: bool = False,
    visible: int = 250,
) -> list[dict]:
    """Squeezed images and overflowing blocks of ``page`` (an HTML file) at ``width`` x ``height``.

    An image counts as squeezed when it is drawn narrower than ``fraction`` of its natural width
    (or of the text column, for images wider than the column: a figure larger than the column is
    expected to be shown at the column's width, not far below it); a page's opening figure (class
    ``rfn-opening``, a preview of a figure shown full size in its section) is exempt. A block counts as overflowing
    when its content is wider than its container and the container does not scroll. With
    ``first_screen`` (the notebook pages), a page whose first ``height`` px show less than
    ``visible`` px of a figure (an image or an interactive explorer; all of it, if it is shorter)
    is reported too.
    """
    page = Path(page).resolve()
    with tempfile.NamedTemporaryFile("w", suffix=".html", dir=page.parent, delete=False) as f:
        f.write(
            _MEASURE.format(
                src=html.escape(page.name),
                width=width,
                height=height,
                fraction=fraction,
                first_screen="true" if first_screen else "false",
                visible=visible,
            )
        )
        wrapper = Path(f.name)
    try:
        dom = dump_dom(wrapper.as_uri(), width, height, extra=("--allow-file-access-from-files",))
    finally:
        wrapper.unlink(missing_ok=True)
    match = re.search(r'<pre id="report">(.*?)</pre>', dom, re.S)
    if match is None or not match.group(1).strip():
        raise BrowserError(f"the measuring frame could not read {page} (no report)")
    return json.loads(html.unescape(match.group(1)))
