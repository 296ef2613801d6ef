"""The status page follows the committed RGB study: it counts the runs while they train, then cites the page's numbers.

Before all 15 runs are committed, the row of Table 9.6 says how many are (``N of 15 runs``); once
:func:`rfn.pages.rgb.load_study` reads the whole study, the rows of Tables 9.6 and 9.7 and Fig 9.11
must contain :func:`rfn.pages.rgb.status_summary`'s sentences, computed from the shipped numbers, and
``book/intro.md`` and ``book/cpu_training.md`` must cite :func:`rfn.pages.rgb.headline_summary`.
"""

from __future__ import annotations

import json
from pathlib import Path

from rfn.pages import rgb
from rfn.presets import get_preset

BOOK = Path(__file__).resolve().parents[1] / "book"
STATUS = BOOK / "status.md"


def _row(name: str) -> str:
    rows = [line for line in STATUS.read_text().splitlines() if line.startswith(f"| {name} |")]
    assert len(rows) == 1, f"book/status.md has {len(rows)} rows for {name}"
    return rows[0]


def _finished_runs() -> int:
    folder, n = rgb.study_folder(), 0
    for key, (preset, _) in rgb.MODELS.items():
        for seed in rgb.SEEDS:
            export = folder / f"{rgb.run_stem(key, seed)}.export.json"
            if export.is_file() and json.loads(export.read_text())["step"] >= get_preset(preset).train["steps"]:
                n += 1
    return n


def test_status_rows_follow_the_committed_rgb_study():
    total = len(rgb.MODELS) * len(rgb.SEEDS)
    try:
        study = rgb.load_study()
    except rgb.StudyError:
        n = _finished_runs()
        assert n < total
        assert f"{n} of {total} runs" in _row("Table 9.6"), f"the status page should count {n} of {total} runs"
        return
    for name, text in rgb.status_summary(study.scores, study.floor).items():
        assert text in _row(name), f"book/status.md's row for {name} should cite: {text}"


def test_intro_and_cpu_training_cite_the_committed_rgb_study():
    try:
        study = rgb.load_study()
    except rgb.StudyError:
        for page in ("intro.md", "cpu_training.md"):
            text = " ".join((BOOK / page).read_text().split())
            assert "IW bound (mean of" not in text, f"book/{page} quotes the RGB study before its 15 runs are committed"
        return
    wanted = rgb.headline_summary(study.scores)
    for page in ("intro.md", "cpu_training.md"):
        text = " ".join((BOOK / page).read_text().split())  # the pages wrap their lines
        assert wanted in text, f"book/{page} should cite rfn.pages.rgb.headline_summary: {wanted}"
