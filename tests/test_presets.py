"""The preset catalogue: every former name resolves to the configs it had, variants on demand, no torch on import."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from rfn import cli
from rfn.models.registry import MODELS, config_from_dict
from rfn.presets import ALIASES, PRESETS, VARIANTS, families, get_preset, preset_names, resolve_name

#: every preset name of commit 2face5f resolved to its model, data and training configs (written then)
PINNED = json.loads((Path(__file__).parent / "fixtures" / "presets_2face5f.json").read_text())
TEXTURED = [
    "reference-textured",
    "reference-textured-noskip",
    "reference-textured-srnn",
    "reference-textured-vrnn",
    "reference-textured-srnn-skip",
]


def _resolved(name: str) -> dict:
    import rfn.models  # noqa: F401 (registers the models)

    p = get_preset(name)
    config = config_from_dict(MODELS[p.model][0], json.loads(json.dumps(p.model_config)))
    full = {
        "model": p.model,
        "model_config": dataclasses.asdict(config),
        "data": dataclasses.asdict(p.data),
        "train": dataclasses.asdict(p.train_config()),
    }
    return json.loads(json.dumps(full))  # tuples as lists, as in the file


@pytest.mark.parametrize("name", TEXTURED)
def test_textured_presets_resolve_as_their_runs_were_started(name):
    """Runs of these presets are resumed with --resume and --init-from --keep-step: nothing may change."""
    assert name in PRESETS and _resolved(name) == PINNED[name]


def test_every_former_name_resolves_to_the_same_run():
    changed = [name for name in PINNED if _resolved(name) != PINNED[name]]
    assert not changed, f"presets whose resolved configs changed: {changed}"


def test_catalogue_is_a_table_plus_variants():
    assert 45 <= len(PRESETS) <= 60  # the named runs at their scales; the variants are resolved on demand
    assert len(families()) <= 30, families()
    assert get_preset("quick-ablation-rfn", variant="skip-flow") == get_preset("quick-ablation-rfn-skip-flow")
    assert get_preset("quick-ablation-rfn-skip-flow").name == "quick-ablation-rfn-skip-flow"
    assert get_preset("smoke").name == "smoke-smmnist" and ALIASES["smoke-srnn"] == "smoke-smmnist-srnn"
    assert set(VARIANTS["quick-sinusoid-vrnn"]) == {"init", "resq", "resq-init"}
    assert "quick-sinusoid-srnn-smooth-resq-init" in preset_names()
    # the book's small runs have a preset at every profile: at reference, the quick one
    assert resolve_name("reference-glow-mnist") == "quick-glow-mnist"
    assert get_preset("reference-sinusoid-vrnn-resq") == get_preset("quick-sinusoid-vrnn-resq")
    with pytest.raises(ValueError, match="preset 'quick-smmnist' has no variant 'skip-flow'; its variants: none"):
        get_preset("quick-smmnist", variant="skip-flow")
    with pytest.raises(ValueError, match="already variant 'L1' of 'quick-ablation-rfn'"):
        get_preset("quick-ablation-rfn-L1", variant="L3")


def test_misspelt_preset_suggests_the_closest_names():
    with pytest.raises(ValueError) as err:
        get_preset("quick-smmnst")
    message = str(err.value)
    assert message.startswith("unknown preset 'quick-smmnst'; did you mean quick-smmnist,")
    assert "`rfn presets` lists them" in message and len(message) < 200  # not every name
    with pytest.raises(ValueError, match=r"^unknown preset 'zzzz'; `rfn presets` lists them$"):
        get_preset("zzzz")


def test_presets_command_has_a_header_and_a_filter(capsys):
    assert cli.main(["presets"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{len(families())} runs; a preset is")
    assert out[1].split() == ["RUN", "MODEL", "DATA", "SCALES", "DESCRIPTION"]
    assert any(line.startswith("smmnist ") and "smoke quick reference thesis" in line for line in out)
    assert cli.main(["presets", "textured"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0].startswith("5 runs matching 'textured'") and len(rows) == 2 + 5
    assert cli.main(["presets", "skip-flow"]) == 0
    out = capsys.readouterr().out
    assert "0 runs matching" in out and "ablation-rfn (smoke quick reference thesis)  skip-flow" in out
    assert cli.main(["presets", "nothing-like-this"]) == 1
    assert "no preset or variant matches 'nothing-like-this'" in capsys.readouterr().out


def test_train_takes_a_variant(capsys):
    assert cli.main(["train", "--preset", "quick-ablation-rfn", "--variant", "skip-flow", "--print-config"]) == 0
    text = capsys.readouterr().out
    assert "skip: flow" in text and "quick-ablation-rfn-skip-flow" in text
    rc = cli.main(["train", "--preset", "quick-ablation-rfn", "--variant", "L9", "--out", "unused"])
    assert rc == 2 and "has no variant 'L9'; its variants: skip-none" in capsys.readouterr().err


@pytest.mark.parametrize("code", ["import rfn.presets", "from rfn.cli import main; main(['--help'])"])
def test_catalogue_and_help_import_no_torch(code):
    probe = f"import sys\ntry:\n    {code}\nexcept SystemExit:\n    pass\nprint('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False"
