"""Fill the landing placeholders of ``landing.patch`` from the committed study (run from the repository root).

After ``git apply notebooks/drafts/landing.patch`` (status rows, intro, cpu_training, maintainers,
Makefile, ``ORDER``), the texts hold ``{T96}``, ``{T97}``, ``{F911}``, ``{HEADLINE}`` and ``{HOURS}``;
this writes :func:`rfn.pages.rgb.status_summary`'s and :func:`rfn.pages.rgb.headline_summary`'s
sentences and the study's hours in their place (``tests/test_rgb_status.py`` checks them).
"""

from pathlib import Path

from rfn.pages import rgb

st = rgb.load_study()
summary = rgb.status_summary(st.scores, st.floor)
values = {
    "{T96}": summary["Table 9.6"],
    "{T97}": summary["Table 9.7"],
    "{F911}": summary["Fig 9.11"],
    "{HEADLINE}": rgb.headline_summary(st.scores),
    "{HOURS}": f"{st.runs_table()['wall hours of its steps'].sum():.1f}",
}
for name in ("book/status.md", "book/intro.md", "book/cpu_training.md", "Makefile"):
    p = Path(name)
    s = p.read_text()
    for k, v in values.items():
        s = s.replace(k, v)
    p.write_text(s)
    left = [k for k in values if k in s]
    assert not left, (name, left)
for k, v in values.items():
    print(k, "=>", v)
