"""rfn.book.figures and rfn.book.layout: FigureRecorder writes the manifest; profile names."""

from __future__ import annotations

import json

import pytest

from rfn import book


def test_figure_recorder_writes_the_manifest(tmp_path):
    rec = book.FigureRecorder("01_flows", profile="smoke", seed=3, device="cpu", figures_dir=tmp_path)
    path = rec.path("tab_demo.csv")
    path.write_text("a,b\n1,2\n")
    rec.record(path, reproduces="nothing")
    manifest = json.loads((tmp_path / "smoke" / "manifest.json").read_text())
    entry = manifest["figures"]["tab_demo.csv"]
    assert entry["notebook"] == "01_flows" and entry["seed"] == 3 and entry["device"] == "cpu"
    assert entry["profile"] == "smoke" and entry["reproduces"] == "nothing" and entry["wall_s"] >= 0
    assert entry["commit"]
    with pytest.raises(ValueError, match="plain file name"):
        rec.path("../escape.png")
    with pytest.raises(ValueError, match="expected a"):
        rec.path("figure.exe")
    outside = tmp_path / "elsewhere.png"
    outside.write_bytes(b"x")
    with pytest.raises(book.BookError, match="saved directly in"):
        rec.record(outside)
    with pytest.raises(FileNotFoundError):
        rec.record(rec.path("missing.png"))


def test_figure_recorder_resolves_auto_and_keeps_both_tables(tmp_path):
    rec = book.FigureRecorder("05_results", profile="reference", seed=0, device="auto", figures_dir=tmp_path)
    assert rec.device in ("cpu", "cuda:0") and rec.folder == tmp_path / "reference"
    rec.path("a.md").write_text("# a\n")
    rec.record(rec.path("a.md"))
    book.update_manifest(tmp_path, "reference", "notebooks", "05_results", {"wall_s": 1.0})
    rec.path("b.md").write_text("# b\n")
    rec.record(rec.path("b.md"))
    manifest = json.loads((tmp_path / "reference" / book.MANIFEST).read_text())
    assert sorted(manifest["figures"]) == ["a.md", "b.md"] and manifest["notebooks"]["05_results"]["wall_s"] == 1.0
    (tmp_path / "reference" / book.MANIFEST).write_text("{not json")
    with pytest.raises(book.BookError, match="delete it and re-run"):
        rec.record(rec.path("a.md"))


@pytest.mark.parametrize("profile", ["smoke", "quick", "reference", "thesis"])
def test_every_profile_name_is_accepted(tmp_path, profile):
    assert book.check_profile(profile) == profile
    rec = book.FigureRecorder("01_flows", profile=profile, seed=0, device="cpu", figures_dir=tmp_path)
    assert rec.folder.is_dir()


def test_the_old_profile_name_says_its_new_name(tmp_path):
    with pytest.raises(book.BookError, match="now called 'thesis'"):
        book.check_profile("full")
    with pytest.raises(ValueError, match="now called 'thesis'"):
        book.FigureRecorder("01_flows", profile="full", seed=0, device="cpu", figures_dir=tmp_path)
    with pytest.raises(book.BookError, match="is not one of"):
        book.check_profile("huge")


def _figure(title: bool = True, labels: bool = True, image: bool = False):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots()
    if image:
        ax.imshow(np.zeros((4, 4)))
        if labels:
            ax.set_yticks([1, 3], ["truth", "sample"])
    else:
        ax.plot([1, 2, 3], [0.0, 1.0, 0.5])
        if labels:
            ax.set(xlabel="frame t", ylabel="PSNR (dB)")
    if title:
        fig.suptitle("a figure")
    return fig


def test_savefig_refuses_a_figure_without_a_title(tmp_path):
    import matplotlib.pyplot as plt

    from rfn.book.figures import FigureError

    rec = book.FigureRecorder("05_results", profile="smoke", seed=0, device="cpu", figures_dir=tmp_path)
    fig = _figure(title=False)
    with pytest.raises(FigureError, match=r"05_results: fig_untitled.png: no figure title"):
        rec.savefig(fig, "fig_untitled.png")
    assert not (tmp_path / "smoke" / "fig_untitled.png").exists()
    fig.axes[0].set_title("per-frame PSNR")  # a title on the only panel is enough
    assert rec.savefig(fig, "fig_untitled.png").is_file()
    plt.close("all")


def test_savefig_names_the_missing_axis_label_and_accepts_labelled_images(tmp_path):
    import matplotlib.pyplot as plt

    from rfn.book.figures import FigureError, check_figure

    rec = book.FigureRecorder("06_temperature", profile="smoke", seed=0, device="cpu", figures_dir=tmp_path)
    fig = _figure(labels=False)
    with pytest.raises(FigureError, match=r"fig_curves.png: panel 0 \(untitled\): missing x or y label"):
        rec.savefig(fig, "fig_curves.png")
    fig.axes[0].set_xlabel("frame t")
    with pytest.raises(FigureError, match="missing x or y label"):  # the y label is still missing
        check_figure(fig)
    fig.axes[0].set_ylabel("SSIM")
    check_figure(fig)
    with pytest.raises(FigureError, match="pixel-number ticks instead of row or column labels"):
        check_figure(_figure(title=True, labels=False, image=True))
    assert rec.savefig(_figure(title=True, labels=True, image=True), "fig_grid.png").is_file()
    plt.close("all")


def test_an_image_grid_is_labelled_by_its_row_labels_or_column_titles():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from rfn.book.figures import FigureError, check_figure

    def grid(row_labels: bool, col_titles: bool):
        fig, axes = plt.subplots(2, 3)
        fig.suptitle("a grid of samples")
        for r in range(2):
            for c in range(3):
                axes[r, c].imshow(np.zeros((4, 4)))
                axes[r, c].set_xticks([])
                axes[r, c].set_yticks([])
                if row_labels and c == 0:
                    axes[r, c].set_ylabel(f"row {r}")
                if col_titles and r == 0:
                    axes[r, c].set_title(f"t+{c + 1}")
        return fig

    for rows, cols in ((True, False), (False, True), (True, True)):
        fig = grid(rows, cols)
        check_figure(fig, "grid.png")
        plt.close(fig)
    fig = grid(False, False)
    with pytest.raises(FigureError, match="an image without a title or row labels"):
        check_figure(fig, "grid.png")
    plt.close(fig)
