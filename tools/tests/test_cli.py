"""Command-line interface: help, describe, info, data-info, errors."""

import json
import os
import subprocess
import sys

import pytest

from conftest import lattice_model
from mlspin_train.cli import build_parser, main
from mlspin_train.export import make_metadata, save_model

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMANDS = ["train", "evaluate", "check", "export", "info", "card", "describe", "data-info", "toy-data", "committee"]


def test_entry_points_show_help():
    for cmd in ([sys.executable, os.path.join(TOOLS, "mlspin-train"), "--help"], [sys.executable, "-m", "mlspin_train", "--help"]):
        res = subprocess.run(cmd, cwd=TOOLS, capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res.stderr
        for c in COMMANDS:
            assert c in res.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args([command, "--help"])
    assert e.value.code == 0
    assert "usage: mlspin-train " + command in capsys.readouterr().out


def test_describe_prints_feature_counts(capsys):
    assert main(["describe", "--lattice", "triangular", "--radius", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["point_group"] == "D6" and out["stencil_sites"] == 36
    assert out["n_features"] == sum(out["features"].values())
    assert main(["describe", "--descriptor", "continuous", "--cutoff", "5", "--species-count", "2"]) == 0
    assert json.loads(capsys.readouterr().out)["channels"] == 12


def test_info_and_data_info(tmp_path, toy_square, capsys):
    model = lattice_model("square")
    path = str(tmp_path / "m.pt")
    save_model(model, path, make_metadata(model, "lj", {"text": "x"}, {"big": "provenance"}, {}, "info test"))
    assert main(["info", path]) == 0
    out = capsys.readouterr().out
    assert '"contract": 1' in out and "provenance" not in out and "parameters:" in out
    card = str(tmp_path / "card.md")
    assert main(["card", path, "--out", card, "--timing-size", "8", "--threads", "1"]) == 0
    text = open(card).read()
    assert "info test" in text and "us per spin" in text and "file size" in text
    capsys.readouterr()
    assert main(["data-info", toy_square]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["snapshots"] == 64 and info["lattice"] == {"lattice": "square", "a": 1.0, "phi": 0.0}
    assert info["extra_columns"] == ["ne", "sex", "sey", "sez"]


def test_errors_are_messages_not_tracebacks(tmp_path, capsys):
    assert main(["train", str(tmp_path / "nothing"), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "dump file" in capsys.readouterr().err
    assert main(["info", str(tmp_path / "missing.pt")]) == 2
    assert "not a TorchScript model file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "x", "--out", "o", "--hidden", "a,b"])
    assert "hidden layer sizes must be integers" in capsys.readouterr().err
