"""The scarce-labels verdict (tutorial 5, README) against the committed tables in results/scarce/.

Each sentence of the verdict names numbers; these tests recompute them from the committed
JSON, format them as the prose does, and check that the prose contains them and that the
sentence's claim holds per seed: "in every seed" needs the same sign in every seed, a
resolved difference a mean larger than its standard deviation over the seeds, and "not
resolved" a mean smaller than it. A new table that disagrees with a sentence fails here.
"""

import json
import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCARCE = ROOT / "results" / "scarce"
TABLE = json.loads((SCARCE / "table.json").read_text())


def _prose(path: Path) -> str:
    """The text of a file with comment markers and line breaks folded into single spaces."""
    text = re.sub(r"^# ?", "", path.read_text(), flags=re.M)
    return re.sub(r"\s+", " ", text)


TUTORIAL = _prose(ROOT / "tutorial" / "05_experiment.py")
README = _prose(ROOT / "README.md")


def _diff(labels: str, name: str) -> dict:
    return TABLE[labels]["differences"][name]


def _pm(d: dict, scale: float = 100.0) -> str:
    """``mean ± sd`` as the prose writes it: magnitudes, two decimals."""
    return f"{abs(scale * d['mean']):.2f} ± {scale * d['sd']:.2f}"


def _same_sign_every_seed(d: dict) -> int:
    signs = set(np.sign(d["values"]))
    assert len(signs) == 1 and 0 not in signs, f"not the same sign in every seed: {d['values']}"
    return int(signs.pop())


def test_the_plan_is_three_seeds_at_100_and_1000_labels_with_the_ablations_at_100():
    assert sorted(TABLE, key=int) == ["100", "1000"]
    for labels, rows in (("100", {"L0", "S2", "S2u", "S2noLW", "S2noLWu"}), ("1000", {"L0", "S2", "S2u"})):
        assert set(TABLE[labels]["rows"]) == rows
        for row, cells in TABLE[labels]["rows"].items():
            assert all(cell["n"] == 3 for cell in cells.values()), (labels, row)


@pytest.mark.parametrize("prose", [TUTORIAL, README], ids=["tutorial5", "README"])
def test_with_100_labels_both_pairs_beat_l0_in_every_seed(prose):
    for name in ("S2 − L0 test error (points)", "S2u − L0 test error (points)"):
        d = _diff("100", name)
        assert _same_sign_every_seed(d) < 0 and -d["mean"] > d["sd"] / np.sqrt(3)
        assert f"{_pm(d)} points better" in prose, name
    rows = TABLE["100"]["rows"]
    assert f"{_pm(rows['S2']['test_error_mean_pass'])} % against {_pm(rows['L0']['test_error_mean_pass'])} %" \
        in TUTORIAL


@pytest.mark.parametrize("prose", [TUTORIAL, README], ids=["tutorial5", "README"])
def test_with_100_labels_tied_against_untied_is_not_resolved(prose):
    d = _diff("100", "S2 − S2u test error (points)")
    assert abs(d["mean"]) < d["sd"], "the tied-untied difference is resolved now: update the verdict"
    assert f"−{_pm(d)} points" in prose


def test_with_100_labels_tying_costs_log_px_and_buys_cycle_accuracy_in_every_seed():
    nats = _diff("100", "S2 − S2u log p(x) (nats)")
    cycle = _diff("100", "S2 − S2u cycle accuracy (points)")
    assert _same_sign_every_seed(nats) < 0 and _same_sign_every_seed(cycle) > 0
    assert f"{_pm(nats, 1.0)} nats lower" in TUTORIAL and f"{_pm(nats, 1.0)} nats of log p(x)" in README
    assert f"{_pm(cycle)} points higher in every seed" in TUTORIAL
    s2, s2u = TABLE["100"]["rows"]["S2"]["cycle_accuracy"], TABLE["100"]["rows"]["S2u"]["cycle_accuracy"]
    assert f"{100 * s2['mean']:.1f} ± {100 * s2['sd']:.1f} % against {100 * s2u['mean']:.1f} ± " \
           f"{100 * s2u['sd']:.1f} %" in TUTORIAL


@pytest.mark.parametrize("prose", [TUTORIAL, README], ids=["tutorial5", "README"])
def test_the_labelled_wake_term_is_what_makes_the_tied_pair_work(prose):
    d = _diff("100", "S2 − S2noLW test error (points)")
    assert _same_sign_every_seed(d) < 0 and -d["mean"] > d["sd"]
    assert _pm(d) in prose
    l0 = TABLE["100"]["rows"]["L0"]["test_error_mean_pass"]["values"]
    ablation = TABLE["100"]["rows"]["S2noLW"]["test_error_mean_pass"]["values"]
    assert all(a > b for a, b in zip(ablation, l0, strict=True))  # "and worse than L0"
    untied = _diff("100", "S2u − S2noLWu test error (points)")
    assert abs(untied["mean"]) < 2 * untied["sd"]  # "not resolved"
    assert f"+{_pm(untied)} points" in TUTORIAL


@pytest.mark.parametrize("prose", [TUTORIAL, README], ids=["tutorial5", "README"])
def test_with_1000_labels_the_tied_pair_falls_behind_l0_and_the_untied_stays_ahead(prose):
    tied, untied = _diff("1000", "S2 − L0 test error (points)"), _diff("1000", "S2u − L0 test error (points)")
    assert _same_sign_every_seed(tied) > 0 and _same_sign_every_seed(untied) < 0
    assert f"{_pm(tied)} points" in prose and f"{_pm(untied)} points better" in prose
    assert f"{_pm(_diff('1000', 'S2 − S2u test error (points)'))} points" in TUTORIAL


def _attempt(name: str, seed: int | None = None) -> dict:
    folder = SCARCE / "attempts" / name
    if seed is not None:
        folder = folder / "labelled100" / f"seed{seed}"
    return json.loads((folder / "rows" / "threshold_S2.json").read_text())


def test_the_best_attempt_over_three_seeds_and_its_paired_gain():
    errors = np.array([_attempt("labelled_weight10_3seeds", s)["test_error_mean_pass"] for s in range(3)])
    base = np.array(TABLE["100"]["rows"]["S2"]["test_error_mean_pass"]["values"])
    gain = 100 * (errors - base)
    assert np.all(gain < 0) and -gain.mean() > gain.std(ddof=1)
    assert f"{100 * errors.mean():.2f} ± {100 * errors.std(ddof=1):.2f} %" in TUTORIAL
    assert f"{-gain.mean():.2f} ± {gain.std(ddof=1):.2f} points better than S2 in every seed" in TUTORIAL
    assert ", ".join(f"{100 * e:.2f}" for e in errors) in TUTORIAL
    log_px = np.array([_attempt("labelled_weight10_3seeds", s)["log_px"] for s in range(3)])
    assert f"−{-log_px.mean():.2f} ± {log_px.std(ddof=1):.2f}" in TUTORIAL


@pytest.mark.parametrize("prose", [TUTORIAL, README], ids=["tutorial5", "README"])
def test_the_target_is_reported_as_not_reached_because_no_three_seed_mean_is_at_most_20_percent(prose):
    studies = [TABLE["100"]["rows"]["S2"]["test_error_mean_pass"]["mean"],
               np.mean([_attempt("labelled_weight10_3seeds", s)["test_error_mean_pass"] for s in range(3)])]
    assert min(studies) > 0.20, "a tied three-seed study reaches the target: update the verdict"
    assert "not reached" in prose


def test_single_seed_attempts_are_not_read_as_gains():
    """Their gains over S2 on seed 0 are within two standard errors of a two-run difference, as the prose says."""
    base = TABLE["100"]["rows"]["S2"]["test_error_mean_pass"]["values"][0]
    se = 100 * np.sqrt(2 * base * (1 - base) / 10_000)
    assert f"about {se:.2f} points" in TUTORIAL and "within two standard errors" in TUTORIAL
    for name in ("lam1000", "augment"):
        record = _attempt(name)
        gain = 100 * (base - record["test_error_mean_pass"])
        assert abs(gain) < 2 * se, name
        assert f"{gain:.2f}" in TUTORIAL and f"{100 * record['test_error_mean_pass']:.2f} % test error" in TUTORIAL


def test_longer_training_is_reported_as_no_gain_over_20_epochs():
    longer, shorter = _attempt("epochs40_decay092_lw10"), _attempt("labelled_weight10")
    se = 100 * np.sqrt(2 * shorter["test_error_mean_pass"] * (1 - shorter["test_error_mean_pass"]) / 10_000)
    assert longer["test_error_mean_pass"] >= shorter["test_error_mean_pass"] - 2 * se / 100
    assert (f"{100 * longer['test_error_mean_pass']:.2f} % test error against "
            f"{100 * shorter['test_error_mean_pass']:.2f} % at 20 epochs") in TUTORIAL
    assert f"−{-longer['log_px']:.2f}, {longer['log_px'] - shorter['log_px']:.0f} nats better" in TUTORIAL
    assert "longer training does not lower the error" in TUTORIAL


def test_every_attempt_has_a_command_that_names_an_existing_module_and_no_local_path():
    import importlib.util

    attempts = sorted(p for p in (SCARCE / "attempts").iterdir() if p.is_dir())
    assert attempts, "no attempts committed"
    for folder in attempts:
        text = "\n".join(line for line in (folder / "command.txt").read_text().splitlines()
                         if not line.startswith("#"))
        modules = re.findall(r"python -m ([\w.]+)", text)
        assert modules and all(importlib.util.find_spec(m) is not None for m in modules), folder.name
        assert not re.search(r"--data (?!download\b|embedded\b)\S+", text), f"{folder.name}: a local data path"


def test_the_erratum_quotes_the_earlier_verdict():
    assert "tying costs 6.9 ± 0.8 points" in TUTORIAL and "Erratum" in TUTORIAL
    assert "2.70 ± 0.72 points worse than L0" in TUTORIAL
