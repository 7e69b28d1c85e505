"""The experiment command runs end to end on the embedded data, writes its table, and resumes."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from refimpl.lab import experiment

TINY = ["--quick", "--sizes", "784,16,10", "--test-images", "100", "--no-progress"]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    work = tmp_path_factory.mktemp("work")
    figures = tmp_path_factory.mktemp("figures")
    mp = pytest.MonkeyPatch()
    mp.setenv("REFIMPL_FIGURES_DIR", str(figures))
    code = experiment.main(TINY + ["--out", str(out), "--work", str(work)])
    yield code, out, work, figures
    mp.undo()


def test_quick_experiment_writes_every_row_of_both_protocols(quick_run):
    """All 5 threshold rows and the 4 generative stochastic rows are trained, evaluated and tabulated."""
    code, out, _, figures = quick_run
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
            # log p(x) = log sum_y p(y) p(x|y) >= log p(y_true) + log p(x|y_true), averaged: >= log(1/10) + ...
            assert record["log_px"] >= record["log_px_y"] + np.log(0.1) - 1e-6
            assert 0.0 <= record["cycle_accuracy"] <= 1.0
    md = (out / "table.md").read_text()
    assert md.count("\n| threshold |") == 5 and md.count("\n| stochastic |") == 4
    assert (figures / "05_learning_curves_and_K.png").exists()
    assert (figures / "05_threshold_L1_samples.png").exists()


def test_quick_experiment_resumes_without_retraining(quick_run, capsys):
    """A second run with the same settings reuses every evaluated row and gives the same table."""
    _, out, work, _ = quick_run
    before = (out / "table.json").read_text()
    assert experiment.main(TINY + ["--out", str(out), "--work", str(work)]) == 0
    assert capsys.readouterr().out.count("already evaluated") == 9
    assert json.loads((out / "table.json").read_text()) == json.loads(before)


@pytest.mark.parametrize("argv, match", [
    (["--rows", "L7"], "rows"),
    (["--protocols", "fuzzy"], "protocols"),
    (["--data", "/nonexistent/mnist"], "nonexistent"),
])
def test_experiment_bad_arguments_exit_2_with_one_line(argv, match, tmp_path, capsys):
    """Unknown rows, protocols or a missing data folder end with status 2 and a one-line message."""
    code = experiment.main(TINY + argv + ["--out", str(tmp_path / "o"), "--work", str(tmp_path / "w")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and match in err


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
        seen.update(out=out, work=work)
        return []

    monkeypatch.setattr(experiment, "run_experiment", fake_run)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs" / "quick" / "results").mkdir(parents=True)
    (tmp_path / "runs" / "quick" / "results" / "table.md").write_text("")
    assert experiment.main(["--quick", "--no-progress"]) == 0
    assert seen == {"out": "runs/quick/results", "work": "runs/quick/work"}


@pytest.mark.parametrize("argv", [["--epochs", "0"], ["--K", "-3"], ["--S", "x"], ["--seed", "-1"]])
def test_experiment_bad_numbers_exit_2_before_any_training(argv, tmp_path, capsys):
    """A non-positive count is refused by the command line itself, in one line, before anything runs."""
    code = experiment.main(TINY + argv + ["--out", str(tmp_path / "o"), "--work", str(tmp_path / "w")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and argv[0] in err
    assert not (tmp_path / "o").exists()
