"""The experiment command runs end to end on the embedded data, writes its table and figures, and resumes."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from refimpl.lab import experiment

ROOT = Path(__file__).resolve().parent.parent

TINY = ["--quick", "--sizes", "784,16,10", "--test-images", "100", "--no-progress"]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    work = tmp_path_factory.mktemp("work")
    tutorial_figures = tmp_path_factory.mktemp("tutorial_figures")
    mp = pytest.MonkeyPatch()
    mp.setenv("REFIMPL_FIGURES_DIR", str(tutorial_figures))
    code = experiment.main(TINY + ["--out", str(out), "--work", str(work)])
    yield code, out, work, tutorial_figures
    mp.undo()


def test_quick_experiment_writes_every_row_of_both_protocols(quick_run):
    """All 5 threshold rows and the 4 generative stochastic rows are trained, evaluated and tabulated."""
    code, out, _, _ = quick_run
    assert code == 0
    table = json.loads((out / "table.json").read_text())
    rows = [(r["protocol"], r["row"]) for r in table]
    generative = [r for r in experiment.ROWS if r in experiment.GENERATIVE]
    assert rows == [("threshold", r) for r in experiment.ROWS] + [("stochastic", r) for r in generative]
    for record in table:
        assert 0.0 <= record["test_error_mean_pass"] <= 1.0
        assert record["log"][-1]["epoch"] == 1
        if record["row"] in experiment.GENERATIVE:
            # a log-likelihood of 784 binary pixels lies in (-784 * log 2 * big, 0); finite and negative
            assert np.isfinite(record["log_px"]) and record["log_px"] < 0
            # log p(x) = log sum_y p(y) p(x|y) >= log p(y_true) + log p(x|y_true), averaged: >= log 0.1 + ...
            assert record["log_px"] >= record["log_px_y"] + np.log(0.1) - 1e-6
            assert 0.0 <= record["cycle_accuracy"] <= 1.0
    md = (out / "table.md").read_text()
    assert md.count("\n| threshold |") == 5 and md.count("\n| stochastic |") == 4


def test_quick_experiment_writes_its_figures_under_out_only(quick_run):
    """The experiment's figures go to <out>/figures; the tutorials' figure folder is left alone."""
    _, out, _, tutorial_figures = quick_run
    names = sorted(p.name for p in (out / "figures").iterdir())
    generative = [r for r in experiment.ROWS if r in experiment.GENERATIVE]
    assert names == sorted(["05_learning_curves_and_K.png"]
                           + [f"05_{p}_{r}_samples.png" for p in experiment.PROTOCOLS for r in generative])
    assert all((out / "figures" / n).read_bytes()[:4] == b"\x89PNG" for n in names)
    assert list(tutorial_figures.iterdir()) == []


def test_quick_experiment_row_records_hold_provenance(quick_run):
    """Each row record names the Python, NumPy and Numba versions and the git commit (outside settings)."""
    import numba

    _, out, _, _ = quick_run
    for path in (out / "rows").iterdir():
        record = json.loads(path.read_text())
        assert record["provenance"]["numpy"] == np.__version__
        assert record["provenance"]["numba"] == numba.__version__
        assert record["provenance"]["python"].count(".") == 2
        commit = record["provenance"]["git_commit"]
        assert commit == "unknown" or len(commit) == 40
        assert "provenance" not in record["settings"]


def test_rows_without_provenance_are_still_reused(quick_run, tmp_path, capsys):
    """Row records written before provenance existed (like the committed ones) are reused, not re-trained."""
    _, out, work, _ = quick_run
    out2 = tmp_path / "out"
    shutil.copytree(out, out2)
    for path in (out2 / "rows").iterdir():
        record = json.loads(path.read_text())
        del record["provenance"]
        path.write_text(json.dumps(record, indent=1))
    assert experiment.main(TINY + ["--out", str(out2), "--work", str(work)]) == 0
    assert capsys.readouterr().out.count("already evaluated") == 9


def test_committed_rows_match_the_full_settings():
    """The committed results/rows were made with FULL: a rerun of the documented command reuses every one."""
    key = experiment._row_key(experiment.FULL, "MNIST from any folder")
    rows = sorted((ROOT / "results" / "rows").glob("*.json"))
    assert len(rows) == 9
    for path in rows:
        assert json.loads(path.read_text())["settings"] == key, path.name


def test_quick_experiment_resumes_without_retraining(quick_run, capsys):
    """A second run with the same settings reuses every row, gives the same table and says what it wrote."""
    _, out, work, _ = quick_run
    before = (out / "table.json").read_text()
    assert experiment.main(TINY + ["--out", str(out), "--work", str(work)]) == 0
    printed = capsys.readouterr().out
    assert printed.count("already evaluated") == 9
    assert json.loads((out / "table.json").read_text()) == json.loads(before)
    for name in ("table.json", "table.md", "command.txt", "figures/05_learning_curves_and_K.png"):
        assert f"wrote {out / name}\n" in printed


def _one_line_error(capsys, fragment):
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and captured.err.endswith("\n"), captured.err
    assert "Traceback" not in captured.err and fragment in captured.err, captured.err
    return captured


@pytest.mark.parametrize("argv, match", [
    (["--rows", "L7"], "--rows must be one of"),
    (["--protocols", "fuzzy"], "--protocols must be one of"),
    (["--data", "/nonexistent/mnist"], "nonexistent"),
    (["--lr", "-1"], "--lr must be a finite number > 0; got -1.0"),
    (["--lr", "x"], "--lr must be a number; got 'x'"),
    (["--lr-decay", "0"], "--lr-decay must be a finite number in (0, 1]; got 0.0"),
    (["--lam", "-2"], "--lam must be a finite number in [0, 1e+06]; got -2.0"),
    (["--lam", "nan"], "--lam must be a finite number"),
    (["--lam", "5", "--rows", "L0,L1"], "--lam applies only to the rows L2, L2u"),
    (["--sizes", "784,2000000000,10"], "--sizes 784,2000000000,10 need"),
    (["--sizes", "784,16"], "--sizes must start with 784 (MNIST pixels) and end with 10"),
    (["--train-images", "999999999"], "train_images must be at most 10,000"),
    (["--test-images", "5000"], "test_images must be at most 2,000"),
])
def test_experiment_bad_arguments_exit_2_with_one_line(argv, match, tmp_path, capsys):
    """Wrong values: status 2 and one line, worded like the training command's, before any folder is made."""
    code = experiment.main(TINY + argv + ["--out", str(tmp_path / "o"), "--work", str(tmp_path / "w")])
    assert code == 2
    _one_line_error(capsys, match)
    assert not (tmp_path / "o").exists() and not (tmp_path / "w").exists()


def test_experiment_offline_download_exits_1_with_one_line(tmp_path, capsys, monkeypatch):
    """--data download without a network: one line, exit 1, no traceback, no folders made."""
    def offline(*args, **kwargs):
        raise urllib.error.URLError(OSError(-3, "Temporary failure in name resolution"))

    monkeypatch.setenv("REFIMPL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    code = experiment.main(TINY + ["--data", "download", "--out", str(tmp_path / "o"), "--work",
                                   str(tmp_path / "w")])
    assert code == 1
    _one_line_error(capsys, "downloading https://")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("how", ["file in the way", "read-only folder"])
def test_experiment_unwritable_out_exits_1_before_training(tmp_path, capsys, how, monkeypatch):
    """An --out that cannot be written is reported in one line (exit 1) before any row is trained."""
    if how == "file in the way":
        (tmp_path / "file").write_text("")
        out = tmp_path / "file" / "results"
    else:
        out = tmp_path / "ro"
        out.mkdir()
        out.chmod(0o500)
        if hasattr(os, "geteuid") and os.geteuid() == 0:  # root writes anyway: make the folder refuse
            def refuse(*args, **kwargs):
                raise PermissionError(13, "Permission denied")

            monkeypatch.setattr(experiment.tempfile, "TemporaryFile", refuse)
    trained = []
    monkeypatch.setattr(experiment, "fit", lambda *a, **k: trained.append(1))
    try:
        code = experiment.main(TINY + ["--out", str(out), "--work", str(tmp_path / "w")])
    finally:
        if out.is_dir():
            out.chmod(0o700)
    assert code == 1 and trained == []
    _one_line_error(capsys, "--out")


def test_experiment_ctrl_c_exits_130_and_the_same_command_resumes(tmp_path, capsys, monkeypatch):
    """Ctrl-C in the second row: exit 130, one line with the command; rerunning it reuses the first row."""
    argv = TINY + ["--rows", "L0,L1", "--protocols", "threshold", "--out", str(tmp_path / "o"), "--work",
                   str(tmp_path / "w")]
    original = experiment.evaluate_row

    def evaluate_then_interrupt(pair, row, *args):
        if row == "L1":
            raise KeyboardInterrupt
        return original(pair, row, *args)

    monkeypatch.setattr(experiment, "evaluate_row", evaluate_then_interrupt)
    assert experiment.main(argv) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "rerun the same command to resume" in err
    assert shlex.split(err.split("resume: ")[1]) == ["python", "-m", "refimpl.lab.experiment", *argv]
    assert (tmp_path / "o" / "rows" / "threshold_L0.json").exists()
    monkeypatch.undo()
    assert experiment.main(argv) == 0
    assert "[threshold L0] already evaluated" in capsys.readouterr().out


def test_experiment_help_is_complete(capsys):
    """Every option of the experiment has help text, and --help exits 0."""
    for action in experiment.build_parser()._actions:
        assert action.help and action.help != argparse.SUPPRESS, action.option_strings
    assert experiment.main(["--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "1.0 keeps it constant; default 0.85" in text and "RWSu" in text


def test_experiment_refuses_to_replace_rows_made_with_other_settings(quick_run, tmp_path, capsys):
    """Rerunning into a results folder with other settings fails with exit 2 and leaves the rows as they were;
    --overwrite replaces exactly the rows it recomputes."""
    _, out, work, _ = quick_run
    out2, work2 = tmp_path / "out", tmp_path / "work"
    shutil.copytree(out, out2)
    shutil.copytree(work, work2)
    before = (out2 / "rows" / "threshold_L0.json").read_text()
    argv = TINY + ["--out", str(out2), "--work", str(work2), "--rows", "L0", "--protocols", "threshold",
                   "--epochs", "2"]
    assert experiment.main(argv) == 2
    err = capsys.readouterr().err
    assert "other settings" in err and "epochs" in err and "--overwrite" in err
    assert (out2 / "rows" / "threshold_L0.json").read_text() == before
    assert experiment.main(argv + ["--overwrite"]) == 0
    record = json.loads((out2 / "rows" / "threshold_L0.json").read_text())
    assert record["settings"]["epochs"] == 2 and len(record["log"]) == 2


def test_quick_experiment_defaults_never_write_to_results(monkeypatch, tmp_path):
    """Without --out, --quick writes below runs/quick, never into the committed results folder."""
    seen = {}

    def fake_run(data, out, work, settings, progress, overwrite):
        seen.update(out=str(out), work=str(work))
        (out / "table.md").write_text("")
        return []

    monkeypatch.setattr(experiment, "run_experiment", fake_run)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs" / "quick" / "results").mkdir(parents=True)
    assert experiment.main(["--quick", "--no-progress"]) == 0
    assert seen == {"out": "runs/quick/results", "work": "runs/quick/work"}


@pytest.mark.parametrize("argv", [["--epochs", "0"], ["--K", "-3"], ["--S", "x"], ["--seed", "-1"]])
def test_experiment_bad_numbers_exit_2_before_any_training(argv, tmp_path, capsys):
    """A non-positive count is refused by the command line itself, in one line, before anything runs."""
    code = experiment.main(TINY + argv + ["--out", str(tmp_path / "o"), "--work", str(tmp_path / "w")])
    assert code == 2
    _one_line_error(capsys, argv[0])
    assert not (tmp_path / "o").exists()


def test_scarce_label_rows_record_the_labelled_count(tmp_path):
    """--labelled 100 runs L0 (on the 100 labelled images), S2 and S2u, and the row key records the count."""
    argv = TINY + ["--labelled", "100", "--rows", "L0,S2,S2u", "--protocols", "threshold",
                   "--out", str(tmp_path / "o"), "--work", str(tmp_path / "w")]
    assert experiment.main(argv) == 0
    rows = {r["row"]: r for r in json.loads((tmp_path / "o" / "table.json").read_text())}
    assert sorted(rows) == ["L0", "S2", "S2u"]
    assert all(r["settings"]["labelled"] == 100 for r in rows.values())
    assert "log_px" in rows["S2"] and "log_px" not in rows["L0"]
    assert "Labels kept: 100" in (tmp_path / "o" / "table.md").read_text()


def test_summary_figure_draws_a_table_holding_every_row(tmp_path):
    """The summary figure takes a table with every row of ALL_ROWS (each row gets a colour and a marker)."""
    log = [{"epoch": 1, "test_error": 0.5}, {"epoch": 2, "test_error": 0.4}]
    table = [{"protocol": "threshold", "row": row, "log": log} for row in experiment.ALL_ROWS]
    experiment._plot_summary(table, tmp_path)
    assert (tmp_path / "05_learning_curves_and_K.png").stat().st_size > 0
