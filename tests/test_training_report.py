"""rfn.training.report: the closing lines of a run."""

from pathlib import Path

from rfn.training.report import closing_lines


def test_closing_lines_of_a_run_that_trained():
    text = closing_lines(8, {"bpp": 1.5, "val_bpp": 1.25}, Path("run/last.pt"), None, 75.0)
    assert text == "step 8: train bpp 1.5000, validation bpp 1.2500; 1 min 15 s; checkpoint run/last.pt"


def test_closing_lines_of_a_resume_with_nothing_left_to_train():
    text = closing_lines(8, {}, Path("run/last.pt"), None, 0.1)
    assert "nothing to train" in text and "nan" not in text and "run/last.pt" in text
