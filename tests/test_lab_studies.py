"""The studies over seeds: mean ± sd and paired differences, and the scarce-label command end to end."""

from __future__ import annotations

import json
import math

from refimpl.lab import studies


def _record(row, error, log_px=None):
    return {"row": row, "test_error_mean_pass": error, "log_px": log_px}


def test_summary_is_the_mean_and_sample_sd_over_seeds_and_pairs_rows_by_seed():
    """Cells are mean and sample sd (ddof 1) written out here; differences are taken seed by seed first."""
    tables = {0: [_record("L0", 0.02), _record("L2", 0.03, -130.0), _record("L2u", 0.025, -95.0)],
              1: [_record("L0", 0.04), _record("L2", 0.04, -140.0), _record("L2u", 0.02, -97.0)],
              2: [_record("L0", 0.03), _record("L2", 0.035, -135.0), _record("L2u", 0.03, -99.0)]}
    summary = studies.summarise(tables, studies.SEED_DIFFERENCES)
    l2 = summary["rows"]["L2"]["test_error_mean_pass"]
    assert math.isclose(l2["mean"], 0.035) and math.isclose(l2["sd"], 0.005) and l2["n"] == 3
    diff = summary["differences"]["L2 − L0 test error (points)"]
    assert [round(v, 6) for v in diff["values"]] == [0.01, 0.0, 0.005]
    assert math.isclose(diff["sd"], math.sqrt(((0.01 - 0.005) ** 2 + 0.005**2 + 0.0) / 2))
    nats = summary["differences"]["L2 − L2u log p(x) (nats)"]
    assert [round(v, 6) for v in nats["values"]] == [-35.0, -43.0, -36.0]
    assert "log_px" not in summary["rows"]["L0"]  # L0 has no generative columns
    assert "L1 − L1u cycle accuracy (points)" not in summary["differences"]  # rows absent: no difference


def test_scarce_study_command_writes_its_summary_and_resumes(tmp_path, capsys):
    """`studies scarce --quick` runs L0, S2 and S2u per (labels, seed), writes table.*, and a rerun retrains nothing."""
    argv = ["scarce", "--quick", "--plan", "20:0", "--sizes", "784,8,10", "--out", str(tmp_path / "o"),
            "--work", str(tmp_path / "w"), "--no-progress"]
    assert studies.main(argv) == 0
    summary = json.loads((tmp_path / "o" / "table.json").read_text())
    assert sorted(summary["20"]["rows"]) == ["L0", "S2", "S2u"]
    assert "S2 − S2u test error (points)" in summary["20"]["differences"]
    assert (tmp_path / "o" / "figures" / "scarce_error_vs_labels.png").stat().st_size > 0
    capsys.readouterr()
    assert studies.main(argv) == 0
    assert "] training ..." not in capsys.readouterr().out


def test_a_bad_plan_exits_2_with_one_line_naming_the_problem(capsys):
    """A repeated label count or a group without seeds is refused before any run, in one line."""
    for plan in ("100:0/100:1", "100:"):
        assert studies.main(["scarce", "--plan", plan, "--out", "unused"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "each label count must appear once, with seeds after a colon" in err[0]


def test_frontier_figure_draws_every_seed_and_attempt(tmp_path):
    """The frontier reads the 100-label rows of every seed and every attempt's S2 row, and refuses none."""
    for folder, row, error, cycle in (("labelled100/seed0", "L0", 0.26, None), ("labelled100/seed0", "S2", 0.2, 0.95),
                                      ("labelled100/seed1", "S2", 0.21, 0.94), ("labelled100/seed0", "S2u", 0.22, 0.86),
                                      ("attempts/lam1000", "S2", 0.18, 0.8),
                                      ("attempts/w10/labelled100/seed2", "S2", 0.19, 0.99)):
        record = {"row": row, "test_error_mean_pass": error} | ({} if cycle is None else {"cycle_accuracy": cycle})
        (tmp_path / folder / "rows").mkdir(parents=True, exist_ok=True)
        (tmp_path / folder / "rows" / f"threshold_{row}.json").write_text(json.dumps(record))
    points = studies._frontier_points(tmp_path)
    assert sorted(points) == ["L0", "S2", "S2u", "attempts"]
    assert [(round(e, 6), round(c, 6)) for e, c, _ in points["S2"]] == [(20.0, 95.0), (21.0, 94.0)]
    assert [name for _, _, name in points["attempts"]] == ["lam1000", "w10"]
    assert studies.plot_frontier(tmp_path, tmp_path / "f.png").stat().st_size > 0
