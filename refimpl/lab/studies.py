r"""Studies over several seeds: the main table with error bars, and the scarce-label table.

Each study is one command that runs :func:`refimpl.lab.experiment.run_experiment`
once per seed (and per number of kept labels) into its own folder, so an
interrupted study resumes where it stopped, then writes ``table.json`` and
``table.md`` with every cell as mean ± standard deviation over the seeds and the
paired differences (per seed, then mean ± sd) that the verdicts rest on::

    python -m refimpl.lab.studies seeds --data download --out results/seeds
    python -m refimpl.lab.studies scarce --data download --out results/scarce

``seeds`` runs the main table (threshold protocol) for ``--seeds`` (default 0,1,2);
``scarce`` runs L0 on the labelled images alone and the tied (S2) and untied (S2u)
semi-supervised pairs, and at 100 labels the ablation S2noLW (S2 without the labelled
images' wake term), for ``--plan`` (default ``100:0,1,2/1000:0,1,2``: 100 and 1,000
labels over three seeds each), and draws the test error against the number of labels.
``--epochs``, ``--sizes``, ``--lam``, ``--lr-decay``, ``--labelled-weight``, ``--augment`` and
``--quick`` change the experiment's settings as they do for ``python -m refimpl.lab.experiment``;
every other setting is the experiment's default.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np

from .._validation import check_choice, check_positive_int, check_real
from ._cli import Parser, arg_type, int_list, parse_args, run, str_list
from ._io import atomic_writer, write_text
from .experiment import FULL, run_experiment
from .train import LAM_HINT, MAX_LAM, check_mnist_sizes

__all__ = ["COLUMNS", "plot_frontier", "run_scarce", "run_seeds", "summarise", "main"]

#: Columns summarised over seeds: record key -> (heading, scale, format).
COLUMNS = {
    "test_error_mean_pass": ("test error (mean pass)", 100.0, ".2f"),
    "test_error_mc": ("test error (MC)", 100.0, ".2f"),
    "log_px_y": ("log p(x∣y)", 1.0, ".2f"),
    "log_px": ("log p(x)", 1.0, ".2f"),
    "cycle_accuracy": ("cycle acc.", 100.0, ".1f"),
}
#: The paired differences of the main table: (name, row a, row b, column) -> a - b per seed.
SEED_DIFFERENCES = (
    ("L2 − L0 test error (points)", "L2", "L0", "test_error_mean_pass"),
    ("L2u − L0 test error (points)", "L2u", "L0", "test_error_mean_pass"),
    ("L2 − L2u log p(x) (nats)", "L2", "L2u", "log_px"),
    ("L1 − L1u cycle accuracy (points)", "L1", "L1u", "cycle_accuracy"),
    ("L2 − L2u cycle accuracy (points)", "L2", "L2u", "cycle_accuracy"),
)
SCARCE_DIFFERENCES = (
    ("S2 − L0 test error (points)", "S2", "L0", "test_error_mean_pass"),
    ("S2u − L0 test error (points)", "S2u", "L0", "test_error_mean_pass"),
    ("S2 − S2u test error (points)", "S2", "S2u", "test_error_mean_pass"),
    ("S2 − S2noLW test error (points)", "S2", "S2noLW", "test_error_mean_pass"),
    ("S2u − S2noLWu test error (points)", "S2u", "S2noLWu", "test_error_mean_pass"),
    ("S2 − S2u log p(x) (nats)", "S2", "S2u", "log_px"),
    ("S2 − S2u cycle accuracy (points)", "S2", "S2u", "cycle_accuracy"),
    ("S2 − S2noLW cycle accuracy (points)", "S2", "S2noLW", "cycle_accuracy"),
)
#: The rows of the scarce study per label count: the ablation S2noLW only where it is asked for.
SCARCE_ROWS = ("L0", "S2", "S2u")
ABLATION_LABELS = (100,)


def _mean_sd(values) -> dict:
    """Mean, sample standard deviation (None for one value) and count."""
    v = np.asarray(values, dtype=float)
    return {"mean": float(v.mean()), "sd": float(v.std(ddof=1)) if v.size > 1 else None, "n": int(v.size),
            "values": [float(x) for x in v]}


def summarise(tables: dict, differences) -> dict:
    """Mean ± sd over seeds of every (row, column), and the paired differences.

    Parameters
    ----------
    tables : dict of int -> list of dict
        The row records of each seed (``table.json`` of one experiment run).
    differences : sequence of (name, row_a, row_b, column)

    Returns
    -------
    dict
        ``{"rows": {row: {column: {"mean", "sd", "n", "values"}}}, "differences": {name: {...}}}``;
        error and accuracy columns stay fractions, as in the row records.

    Examples
    --------
    >>> t = {s: [{"row": "A", "test_error_mean_pass": e}] for s, e in ((0, 0.1), (1, 0.3))}
    >>> round(summarise(t, [])["rows"]["A"]["test_error_mean_pass"]["sd"], 4)
    0.1414
    """
    rows: dict = {}
    for table in tables.values():
        for record in table:
            for column in COLUMNS:
                if record.get(column) is not None:
                    rows.setdefault(record["row"], {}).setdefault(column, []).append(record[column])
    out = {"rows": {row: {c: _mean_sd(v) for c, v in cols.items()} for row, cols in rows.items()},
           "differences": {}}
    for name, a, b, column in differences:
        diffs = []
        for table in tables.values():
            by_row = {r["row"]: r for r in table}
            if a in by_row and b in by_row and None not in (by_row[a].get(column), by_row[b].get(column)):
                diffs.append(by_row[a][column] - by_row[b][column])
        if diffs:
            out["differences"][name] = _mean_sd(diffs)
    return out


def _cell(stat, scale, spec) -> str:
    if stat is None:
        return "–"
    sd = "" if stat["sd"] is None else f" ± {scale * stat['sd']:{spec}}"
    return f"{scale * stat['mean']:{spec}}{sd}"


def _markdown(summary: dict, title: str) -> str:
    lines = [title, "", "| row | seeds | " + " | ".join(h for h, _, _ in COLUMNS.values()) + " |",
             "|---|---:|" + "---:|" * len(COLUMNS)]
    for row, cols in summary["rows"].items():
        n = max(stat["n"] for stat in cols.values())
        lines.append(f"| {row} | {n} | " + " | ".join(_cell(cols.get(c), *COLUMNS[c][1:]) for c in COLUMNS) + " |")
    if summary["differences"]:
        lines += ["", "Paired differences (per seed, then mean ± sd over seeds):", "",
                  "| difference | seeds | mean ± sd | per seed |", "|---|---:|---:|---|"]
        for name, stat in summary["differences"].items():
            scale = 1.0 if "nats" in name else 100.0
            per_seed = ", ".join(f"{scale * v:.2f}" for v in stat["values"])
            lines.append(f"| {name} | {stat['n']} | {_cell(stat, scale, '.2f')} | {per_seed} |")
    return "\n".join(lines) + "\n"


def run_seeds(data, out, work, seeds=(0, 1, 2), settings=None, progress=True) -> dict:
    """The main table (threshold protocol) once per seed, then its summary; returns the summary."""
    out, work = Path(out), Path(work)
    tables = {}
    for seed in seeds:
        run_settings = {"protocols": ("threshold",), **(settings or {}), "seed": seed}
        tables[seed] = run_experiment(data, out / f"seed{seed}", work / f"seed{seed}", run_settings, progress)
    summary = summarise(tables, SEED_DIFFERENCES)
    summary["seeds"] = list(seeds)
    write_text(out / "table.json", json.dumps(summary, indent=1))
    title = (f"The main table over seeds {', '.join(map(str, seeds))} (threshold protocol, settings of "
             "`results/table.md`); errors and accuracies in %, log-likelihoods in nats per test image; "
             "mean ± sample standard deviation over the seeds.")
    write_text(out / "table.md", _markdown(summary, title))
    return summary


def run_scarce(data, out, work, plan=None, settings=None, progress=True, rows=None) -> dict:
    """L0, S2 and S2u (and S2noLW, S2noLWu at 100 labels) per (labels, seed) of ``plan``; returns the summaries."""
    plan = {100: (0, 1, 2), 1000: (0, 1, 2)} if plan is None else plan
    out, work = Path(out), Path(work)
    summaries, text = {}, []
    for labelled, seeds in plan.items():
        tables = {}
        these = rows or SCARCE_ROWS + (("S2noLW", "S2noLWu") if labelled in ABLATION_LABELS else ())
        for seed in seeds:
            run_settings = {"protocols": ("threshold",), "rows": these, **(settings or {}),
                            "seed": seed, "labelled": labelled}
            folder = f"labelled{labelled}/seed{seed}"
            tables[seed] = run_experiment(data, out / folder, work / folder, run_settings, progress)
        summaries[labelled] = dict(summarise(tables, SCARCE_DIFFERENCES), seeds=list(seeds))
        text.append(_markdown(summaries[labelled], f"### {labelled} labelled images, seeds "
                                                   f"{', '.join(map(str, seeds))}"))
    write_text(out / "table.json", json.dumps({str(k): v for k, v in summaries.items()}, indent=1))
    header = ("Scarce labels (threshold protocol): L0 learns from the labelled images alone; S2 (tied) and S2u "
              "(untied) learn from every training image, an unlabelled one by its wake term with the class "
              "summed over the recogniser's belief (S1), a labelled one by the wake term with its true class "
              "and λ · L0; S2noLW and S2noLWu are S2 and S2u without the labelled images' wake term (the "
              "ablation). Errors and "
              "accuracies in %, log-likelihoods in nats per test image; mean ± sample standard deviation over "
              "the seeds.\n\n")
    write_text(out / "table.md", header + "\n".join(text))
    _plot_scarce(summaries, out / "figures" / "scarce_error_vs_labels.png")
    if 100 in summaries:
        plot_frontier(out, out / "figures" / "scarce_tied_frontier.png")
    return summaries


def _frontier_points(out: Path) -> dict:
    """Test error and cycle accuracy (%) of the 100-label rows per seed and of each attempt in ``out/attempts``."""
    points: dict = {}
    for row_file in sorted(out.glob("labelled100/seed*/rows/threshold_*.json")):
        record = json.loads(row_file.read_text())
        points.setdefault(record["row"], []).append(
            (100 * record["test_error_mean_pass"], 100 * record["cycle_accuracy"] if "cycle_accuracy" in record
             else None, row_file.parts[-3]))
    for row_file in sorted(out.glob("attempts/*/rows/threshold_S2*.json")):  # one seed
        record = json.loads(row_file.read_text())
        points.setdefault("attempts", []).append(
            (100 * record["test_error_mean_pass"], 100 * record["cycle_accuracy"], row_file.parts[-3]))
    for row_file in sorted(out.glob("attempts/*/labelled100/seed*/rows/threshold_S2*.json")):  # a study's seeds
        record = json.loads(row_file.read_text())
        points.setdefault("attempts", []).append(
            (100 * record["test_error_mean_pass"], 100 * record["cycle_accuracy"], row_file.parts[-5]))
    return points


def plot_frontier(out, path) -> Path:
    """The tied pair's frontier with 100 labels: test error against cycle accuracy, every seed and attempt.

    Draws the rows of ``out/labelled100/seed*/rows`` (S2, S2u, S2noLW per seed; L0,
    which has no generator, as a vertical line at its mean test error) and every
    single-seed attempt ``out/attempts/<name>/rows/threshold_S2*.json`` and every seed of
    an attempt repeated as a study (``out/attempts/<name>/labelled100/seed<s>/rows``),
    with the target region (test error at most 20 %, cycle accuracy above 90 %) shaded.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out, path = Path(out), Path(path)
    points = _frontier_points(out)
    fig, ax = plt.subplots(figsize=(7.2, 4.8))
    errors = [e for pts in points.values() for e, _, _ in pts]
    cycles = [c for pts in points.values() for _, c, _ in pts if c is not None]
    x_range = (min(errors + [20]) - 2, max(errors) + 2)
    y_range = (min(cycles + [90]) - 2, 101)
    ax.fill_between([x_range[0], 20], 90, 100, color="C2", alpha=0.12, lw=0,
                    label="target: error ≤ 20 %, cycle > 90 %")
    if "L0" in points:
        l0 = np.mean([e for e, _, _ in points["L0"]])
        ax.axvline(l0, color="k", lw=1.2, ls="--", label=f"L0 on the labels alone ({l0:.1f} %, mean)")
    styles = {"S2": ("C3", "s", "S2 tied (per seed)"), "S2u": ("C0", "^", "S2u untied (per seed)"),
              "S2noLW": ("C1", "D", "S2noLW tied, no labelled wake term")}
    for row, (colour, marker, label) in styles.items():
        if row in points:
            e, c, _ = zip(*points[row], strict=True)
            ax.scatter(e, c, color=colour, marker=marker, s=46, label=label, zorder=3)
    attempts: dict = {}
    for e, c, name in points.get("attempts", []):
        attempts.setdefault(name, []).append((e, c))
    for (name, pts), marker in zip(attempts.items(), itertools.cycle("ovPX*hp<>"), strict=False):
        e, c = zip(*pts, strict=True)
        seeds = "seed 0" if len(pts) == 1 else f"{len(pts)} seeds"
        ax.scatter(e, c, facecolor="none", edgecolor="0.3", marker=marker, s=70, lw=1.2, zorder=4,
                   label=f"S2 attempt: {name.replace('_', ' ')} ({seeds})")
    ax.set_xlim(*x_range)
    ax.set_ylim(*y_range)
    ax.set_xlabel("test error of the mean pass (%)")
    ax.set_ylabel("cycle accuracy (%)")
    ax.set_title("100 labels: the tied pair's frontier", fontsize=11)
    ax.legend(fontsize=9, loc="center left", bbox_to_anchor=(1.02, 0.5))
    ax.grid(alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(path) as f:
        fig.savefig(f, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {path}", flush=True)
    return path


def _plot_scarce(summaries: dict, path: Path) -> None:
    """Test error (mean pass) against the number of labels, mean ± sd over seeds, for L0, S2 and S2u."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = sorted(summaries)
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    styles = {"L0": ("k", "o", "-"), "S2": ("C3", "s", "--"), "S2u": ("C0", "^", ":"), "S2noLW": ("C1", "D", "-.")}
    for row, (colour, marker, line) in styles.items():
        points = [(n, summaries[n]["rows"][row]["test_error_mean_pass"]) for n in counts
                  if row in summaries[n]["rows"]]
        if not points:
            continue
        n, stat = zip(*points, strict=True)
        ax.errorbar(n, [100 * s["mean"] for s in stat], yerr=[100 * (s["sd"] or 0.0) for s in stat],
                    color=colour, marker=marker, linestyle=line, capsize=4, label=row)
    ax.set_xscale("log")
    ax.set_xticks(counts, [f"{n:,}" for n in counts])
    ax.set_xlabel("labelled training images")
    ax.set_ylabel("test error of the mean pass (%)")
    ax.set_title("Scarce labels: mean ± sd over seeds", fontsize=11)
    ax.legend(fontsize=10)
    ax.grid(alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(path) as f:
        fig.savefig(f, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {path}", flush=True)


def _plan(text: str) -> dict:
    """``"100:0,1,2/1000:0"`` -> {100: (0, 1, 2), 1000: (0,)}."""
    plan = {}
    for part in text.split("/"):
        labelled, _, seeds = part.partition(":")
        labelled = check_positive_int(int(labelled), "labelled")
        if labelled in plan or not seeds:
            raise ValueError(f"each label count must appear once, with seeds after a colon; got {text!r}")
        plan[labelled] = tuple(check_positive_int(int(s), "seed", 0) for s in seeds.split(","))
    return plan


def _plan_argument(text: str) -> dict:
    """argparse type of ``--plan``: the message says what is wrong."""
    try:
        return _plan(text)
    except (ValueError, TypeError) as exc:
        raise argparse.ArgumentTypeError(f"--plan must be groups like 100:0,1,2/1000:0 ({exc})") from None


def _scarce_rows(values, name):
    return tuple(check_choice(v, name, SCARCE_ROWS + ("S2noLW", "S2noLWu")) for v in values)


def _seeds(values, name):
    return tuple(check_positive_int(v, name, 0) for v in values)


def build_parser():
    p = Parser(prog="python -m refimpl.lab.studies",
               description="Run a study over several seeds (resumable) and write its summary table.")
    p.add_argument("study", choices=("seeds", "scarce"),
                   help="seeds: the main table over --seeds; scarce: L0, S2, S2u with few labels over --plan")
    p.add_argument("--data", default="embedded",
                   help="'embedded', 'download' (full MNIST into ~/.cache/refimpl/mnist) or a folder of the four "
                        "MNIST files; default %(default)s")
    p.add_argument("--out", required=True, help="folder for the per-seed results and the summary table")
    p.add_argument("--work", help="folder for checkpoints; default runs/<study>")
    p.add_argument("--seeds", type=arg_type("--seeds", _seeds, parse=int_list), default=(0, 1, 2),
                   help="seeds of the seeds study, comma-separated; default 0,1,2")
    p.add_argument("--plan", type=_plan_argument,
                   help="scarce study: labels:seeds groups separated by '/'; default 100:0,1,2/1000:0,1,2")
    p.add_argument("--epochs", type=arg_type("--epochs", check_positive_int, parse=int),
                   help=f"epochs per row; default {FULL['epochs']}")
    p.add_argument("--sizes", type=arg_type("--sizes", check_mnist_sizes, parse=int_list),
                   help="layer widths; default 784,500,500,10")
    p.add_argument("--rows", type=arg_type("--rows", _scarce_rows, parse=str_list),
                   help="scarce study: the rows to run, comma-separated (L0, S2, S2u, S2noLW, S2noLWu); default "
                        "L0,S2,S2u, with S2noLW,S2noLWu at 100 labels")
    p.add_argument("--lam", type=arg_type("--lam", check_real, 0, MAX_LAM, hint=LAM_HINT),
                   help=f"lambda, the weight of L0 in the hybrid rows; default {FULL['lam']}")
    p.add_argument("--labelled-weight", type=arg_type("--labelled-weight", check_real, 0, MAX_LAM),
                   help=f"scarce study: weight of the labelled images' wake term in S2 and S2u; default "
                        f"{FULL['labelled_weight']}")
    p.add_argument("--augment", action="store_true", default=None,
                   help="scarce study: re-draw the unlabelled images by stochastic binarisation every epoch")
    p.add_argument("--lr-decay", type=arg_type("--lr-decay", check_real, 0, 1, low_open=True),
                   help=f"per-epoch factor of the step size, in (0, 1]; default {FULL['lr_decay']}")
    p.add_argument("--quick", action="store_true",
                   help="the experiment's quick settings (embedded data, tiny net), to try the pipeline")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


def main(argv=None) -> int:
    """Run ``python -m refimpl.lab.studies``; 0 on success, 2 for wrong arguments, 1 if a run fails."""
    from .experiment import QUICK

    parser = build_parser()
    args = parse_args(parser, argv)
    if isinstance(args, int):
        return args
    drop = ("seed", "protocols", "rows", "labelled")  # each study sets these itself
    settings = {k: v for k, v in QUICK.items() if k not in drop} if args.quick else {}
    for name in ("epochs", "sizes", "lam", "labelled_weight", "augment", "lr_decay"):
        if getattr(args, name) is not None:
            settings[name] = getattr(args, name)
    work = args.work or f"runs/{args.study}"

    def study() -> int:
        if args.study == "seeds":
            run_seeds(args.data, args.out, work, args.seeds, settings, not args.no_progress)
        else:
            run_scarce(args.data, args.out, work, args.plan, settings, not args.no_progress, args.rows)
        print(Path(args.out, "table.md").read_text())
        return 0

    return run(parser.prog, study, lambda: f"rerun the same command to resume from the rows already in {args.out}")


if __name__ == "__main__":
    sys.exit(main())
