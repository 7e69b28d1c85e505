"""The training loop and command: learning happens, resuming is bit-identical, errors are one clean line."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import refimpl.lab.train as train_mod
from refimpl.lab.checkpoint import CheckpointError, load_checkpoint
from refimpl.coupled import CoupledPair
from refimpl.lab.data import Dataset, load_embedded
from refimpl.lab.train import fit, main, recognition_error

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def embedded():
    return load_embedded()


def _subset(data, n_train, n_test, offset=0):
    return Dataset(data.train_images[offset:offset + n_train], data.train_labels[offset:offset + n_train],
                   data.test_images[:n_test], data.test_labels[:n_test],
                   source=f"embedded[{offset}:{offset + n_train}]")


@pytest.fixture(scope="module")
def tiny(embedded):
    """600 training and 200 test images: enough for every digit to occur, small enough to train in a blink."""
    return _subset(embedded, 600, 200)


TINY = dict(sizes=(784, 20, 10), batch_size=50, lr=1e-2, seed=3, progress=False)


def _assert_same_run(a, b):
    (pair_a, log_a), (pair_b, log_b) = a, b
    assert sorted(pair_a.params) == sorted(pair_b.params)
    for key in pair_a.params:
        assert pair_a.params[key].dtype == np.float32
        assert np.array_equal(pair_a.params[key], pair_b.params[key]), key
    strip = [[{k: v for k, v in r.items() if k != "seconds"} for r in log] for log in (log_a, log_b)]
    assert strip[0] == strip[1]


# ------------------------------------------------------------------ learning works
def test_l0_reaches_stated_test_error_on_embedded(embedded):
    """L0, 784-100-10, Adam lr 0.01, 2 epochs on the embedded 10k: test error < 10% and the objective rises.

    Measured (seeds 0, 1, 2): 7.45%, 7.15%, 8.0% after epoch 2 (threshold binarisation). The bound leaves
    2.5 points of margin, about four binomial standard deviations on 2,000 test images (sqrt(.075*.925/2000)).
    """
    _, log = fit(None, embedded, "L0", sizes=(784, 100, 10), epochs=2, batch_size=100, optimizer="adam",
                 lr=1e-2, seed=0, progress=False)
    assert [r["epoch"] for r in log] == [1, 2]
    assert log[-1]["test_error"] < 0.10
    assert log[1]["train_objective"] > log[0]["train_objective"]
    assert log[1]["terms"]["L0"] == log[1]["train_objective"]


def test_l1_tied_objective_increases_over_epochs(embedded):
    """L1 (tied), 784-50-10 on 3,000 images: G + R rises every epoch, by tens of nats.

    Measured (seeds 0, 1, 2): G + R = -552, -441, -403 nats per image over epochs 1..3; each step
    exceeds 35 nats, so a required rise of 10 nats per epoch has a wide margin over batch noise.
    """
    data = _subset(embedded, 3000, 500)
    _, log = fit(None, data, "L1", sizes=(784, 50, 10), epochs=3, batch_size=100, optimizer="adam",
                 lr=1e-3, seed=0, progress=False)
    objective = [r["train_objective"] for r in log]
    assert all(later > earlier + 10 for earlier, later in itertools.pairwise(objective)), objective
    for r in log:
        assert sorted(r["terms"]) == ["G", "R"]
        np.testing.assert_allclose(r["train_objective"], r["terms"]["G"] + r["terms"]["R"], rtol=1e-12)
    assert log[-1]["terms"]["G"] > log[0]["terms"]["G"]


def test_recognition_error_counts_wrong_argmax():
    """The error is the fraction of rows whose most probable class (mean pass) is not the label, by hand."""
    pair = CoupledPair((4, 3), rng=np.random.default_rng(0), init_scale=0.0)
    pair.params["W1"][:] = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]], np.float32) * 5
    x = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 0]], np.float32)
    assert recognition_error(pair, x, np.array([0, 1, 2, 0])) == 0.25
    assert recognition_error(pair, x, np.array([0, 1, 2, 0]), chunk=1) == 0.25


# ---------------------------------------------------------------- reproducibility
@pytest.mark.parametrize("method, optimizer, binarization, lr_decay", [
    ("L0", "adam", "threshold", 1.0),
    ("L1", "adam", "threshold", 0.5),
    ("L2", "adam", "threshold", 1.0),
    ("L1u", "sgd", "stochastic", 0.5),
    ("L2u", "sgd", "stochastic", 1.0),
])
def test_resume_is_bit_identical(tiny, tmp_path, method, optimizer, binarization, lr_decay):
    """2 epochs in one run == 1 epoch then resume for 1 more: parameters, optimiser, rng and log equal."""
    kw = dict(TINY, method=method, optimizer=optimizer, binarization=binarization, lam=0.5, lr_decay=lr_decay)
    straight = fit(None, tiny, epochs=2, out_dir=tmp_path / "a", **kw)
    fit(None, tiny, epochs=1, out_dir=tmp_path / "b", **kw)
    resumed = fit(None, tiny, epochs=2, out_dir=tmp_path / "b", resume=True, **kw)
    _assert_same_run(straight, resumed)
    a, b = load_checkpoint(tmp_path / "a"), load_checkpoint(tmp_path / "b")
    assert a.rng_state == b.rng_state
    assert sorted(a.opt_state) == sorted(b.opt_state)
    for key, value in a.opt_state.items():
        assert np.array_equal(value, b.opt_state[key]), key
    # checkpointing does not perturb the run: the same without any files
    _assert_same_run(straight, fit(None, tiny, epochs=2, out_dir=None, **kw))


def test_lr_decay_scales_the_step_size_per_epoch(tiny, monkeypatch):
    """Epoch e steps with lr * lr_decay**(e-1): every optimiser step sees exactly that step size."""
    seen = []
    original = train_mod.SGD.step

    def spy(self, params, grads):
        seen.append(self.lr)
        return original(self, params, grads)

    monkeypatch.setattr(train_mod.SGD, "step", spy)
    kw = dict(TINY, method="L0", optimizer="sgd", lr=0.2, lr_decay=0.5)
    fit(None, tiny, epochs=3, **kw)
    per_epoch = len(seen) // 3
    assert seen == [0.2] * per_epoch + [0.1] * per_epoch + [0.05] * per_epoch


def test_interrupted_epoch_resumes_bit_identically(tiny, tmp_path, monkeypatch):
    """Ctrl-C in the middle of epoch 2 leaves the epoch-1 checkpoint; resuming gives the uninterrupted run."""

    class Crash(KeyboardInterrupt):
        pass

    kw = dict(TINY, method="L1")
    straight = fit(None, tiny, epochs=2, out_dir=tmp_path / "a", **kw)
    original, calls = train_mod._step, {"n": 0}
    batches_per_epoch = 600 // TINY["batch_size"]

    def crashing_step(*args):
        calls["n"] += 1
        if calls["n"] == batches_per_epoch + 5:
            raise Crash
        return original(*args)

    monkeypatch.setattr(train_mod, "_step", crashing_step)
    with pytest.raises(Crash):
        fit(None, tiny, epochs=2, out_dir=tmp_path / "b", **kw)
    monkeypatch.undo()
    assert load_checkpoint(tmp_path / "b").meta["epoch"] == 1
    assert len((tmp_path / "b" / "log.jsonl").read_text().splitlines()) == 1
    _assert_same_run(straight, fit(None, tiny, epochs=2, out_dir=tmp_path / "b", resume=True, **kw))


def test_same_seed_same_run_other_seed_other_run(tiny):
    """The seed alone fixes the run; another seed gives other parameters."""
    a = fit(None, tiny, "L1", epochs=1, **TINY)
    _assert_same_run(a, fit(None, tiny, "L1", epochs=1, **TINY))
    c = fit(None, tiny, "L1", epochs=1, **dict(TINY, seed=4))
    assert not np.array_equal(a[0].params["W1"], c[0].params["W1"])


def test_log_file_matches_returned_log(tiny, tmp_path):
    """log.jsonl holds one JSON line per epoch, equal to the returned records, with the documented fields."""
    _, log = fit(None, tiny, "L2", epochs=2, out_dir=tmp_path, eval_every_epoch=False, **TINY)
    lines = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert lines == log
    assert [sorted(r) for r in log] == [["epoch", "seconds", "terms", "test_error", "train_objective"]] * 2
    assert sorted(log[0]["terms"]) == ["G", "L0", "R"]
    assert log[0]["test_error"] is None and 0 <= log[1]["test_error"] <= 1


def test_given_pair_is_copied_not_modified(tiny):
    """A starting pair is trained as a copy; the caller's arrays stay untouched."""
    pair = CoupledPair((784, 20, 10), rng=np.random.default_rng(0), dtype=np.float64)
    before = {k: v.copy() for k, v in pair.params.items()}
    trained, _ = fit(pair, tiny, "L0", epochs=1, **{k: v for k, v in TINY.items() if k != "sizes"})
    assert trained is not pair and trained.params["W1"].dtype == np.float32
    for key, value in before.items():
        assert np.array_equal(pair.params[key], value)
    assert not np.array_equal(trained.params["W1"], before["W1"].astype(np.float32))


# ------------------------------------------------------------ checkpoints in fit
def test_fresh_run_refuses_existing_checkpoint_unless_overwrite(tiny, tmp_path):
    """Without resume, an out_dir holding a checkpoint is an error; overwrite=True restarts run and log."""
    fit(None, tiny, "L0", epochs=2, out_dir=tmp_path, **TINY)
    with pytest.raises(ValueError, match="already holds a checkpoint"):
        fit(None, tiny, "L0", epochs=1, out_dir=tmp_path, **TINY)
    _, log = fit(None, tiny, "L0", epochs=1, out_dir=tmp_path, overwrite=True, **TINY)
    assert load_checkpoint(tmp_path).meta["epoch"] == 1
    assert len((tmp_path / "log.jsonl").read_text().splitlines()) == 1 == len(log)


def test_resume_auto_starts_or_continues(tiny, tmp_path):
    """resume="auto" starts afresh without a checkpoint and continues with one (equal to a straight run)."""
    fit(None, tiny, "L0", epochs=1, out_dir=tmp_path / "b", resume="auto", **TINY)
    resumed = fit(None, tiny, "L0", epochs=2, out_dir=tmp_path / "b", resume="auto", **TINY)
    _assert_same_run(fit(None, tiny, "L0", epochs=2, **TINY), resumed)
    # asking for no more epochs than done returns the checkpoint's pair unchanged
    again = fit(None, tiny, "L0", epochs=2, out_dir=tmp_path / "b", resume=True, **TINY)
    _assert_same_run(resumed, again)


@pytest.mark.parametrize("change, problem", [
    (dict(sizes=(784, 30, 10)), "sizes"),
    (dict(method="L1u"), "method"),
    (dict(lr=0.5), "lr"),
    (dict(optimizer="sgd"), "optimizer"),
    (dict(binarization="stochastic"), "binarization"),
    (dict(seed=9), "seed"),
])
def test_resume_with_other_settings_is_rejected(tiny, tmp_path, change, problem):
    """Resuming with settings other than the checkpoint's names the field and the file."""
    fit(None, tiny, "L1", epochs=1, out_dir=tmp_path, **TINY)
    kw = dict(TINY, method="L1", **change) if "method" not in change else dict(TINY, **change)
    with pytest.raises(CheckpointError, match=f"checkpoint has {problem}=") as info:
        fit(None, tiny, epochs=2, out_dir=tmp_path, resume=True, **kw)
    assert str(tmp_path / "checkpoint.json") in str(info.value)


def test_resume_with_other_data_is_rejected(embedded, tiny, tmp_path):
    """Resuming on different images (same sizes) is detected through the data fingerprint."""
    fit(None, tiny, "L0", epochs=1, out_dir=tmp_path, **TINY)
    with pytest.raises(CheckpointError, match="data"):
        other = _subset(embedded, 600, 200, offset=600)
        fit(None, other, "L0", epochs=2, out_dir=tmp_path, resume=True, **TINY)


def test_resume_errors(tiny, tmp_path):
    """No checkpoint, a checkpoint beyond the asked epochs, or resume without out_dir: clear errors."""
    with pytest.raises(FileNotFoundError, match="no checkpoint found"):
        fit(None, tiny, "L0", epochs=2, out_dir=tmp_path / "empty", resume=True, **TINY)
    fit(None, tiny, "L0", epochs=2, out_dir=tmp_path, **TINY)
    with pytest.raises(ValueError, match="epochs must be at least the checkpoint's epoch 2"):
        fit(None, tiny, "L0", epochs=1, out_dir=tmp_path, resume=True, **TINY)
    with pytest.raises(ValueError, match="out_dir"):
        fit(None, tiny, "L0", epochs=1, out_dir=None, resume=True, **TINY)


@pytest.mark.parametrize("kwargs, name", [
    (dict(method="XYZ"), "method"),
    (dict(optimizer="rmsprop"), "optimizer"),
    (dict(binarization="gray"), "binarization"),
    (dict(epochs=0), "epochs"),
    (dict(epochs=-1), "epochs"),
    (dict(batch_size=0), "batch_size"),
    (dict(lr=-0.1), "lr"),
    (dict(lr=0.0), "lr"),
    (dict(lr=float("nan")), "lr"),
    (dict(lam=-1.0), "lam"),
    (dict(seed=-1), "seed"),
    (dict(sizes=(100, 10)), "sizes"),
    (dict(sizes=(784, 20, 5)), "sizes"),
    (dict(momentum=1.0), "momentum"),
    (dict(resume="yes"), "resume"),
    (dict(normalise="batch"), "normalise"),
])
def test_fit_rejects_bad_arguments(tiny, kwargs, name):
    """Each invalid argument raises ValueError naming it."""
    kw = dict(TINY, method="L0", epochs=1)
    kw.update(kwargs)
    with pytest.raises(ValueError, match=name):
        fit(None, tiny, **kw)


def test_fit_rejects_pair_of_the_wrong_kind(tiny):
    """A tied pair for an untied method is refused."""
    pair = CoupledPair((784, 20, 10), tied=True, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="tied"):
        fit(pair, tiny, "L1u", epochs=1, **{k: v for k, v in TINY.items() if k != "sizes"})


# ------------------------------------------------------------------------ CLI
CLI_TINY = ["--sizes", "784,20,10", "--epochs", "1", "--no-progress", "--lr", "0.01"]


def test_cli_trains_then_resumes(tmp_path, capsys):
    """A run exits 0 and prints its result; --resume continues; a fresh run into the same --out is refused."""
    out = str(tmp_path / "run")
    assert main(["--method", "L0", "--out", out] + CLI_TINY) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["epoch"] == 1 and 0 <= first["test_error"] <= 1
    more = ["--sizes", "784,20,10", "--epochs", "2", "--no-progress", "--lr", "0.01"]
    assert main(["--method", "L0", "--out", out, "--resume", *more]) == 0
    assert json.loads(capsys.readouterr().out)["epoch"] == 2
    assert main(["--method", "L0", "--out", out] + CLI_TINY) == 2
    err = capsys.readouterr().err
    assert "already holds a checkpoint" in err and err.count("\n") == 1


def _bad_mnist_dir(tmp_path):
    d = tmp_path / "bad_mnist"
    d.mkdir()
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        (d / f"{stem}.gz").write_bytes(b"not the real file")
    return str(d)


def _checkpoint_dir(tmp_path, data, damage=None):
    out = tmp_path / "ckpt"
    fit(None, data, "L0", epochs=1, out_dir=out, **TINY)
    if damage == "truncate":
        npz = next(out.glob("*.npz"))
        npz.write_bytes(npz.read_bytes()[:-10])
    return str(out)


@pytest.mark.parametrize("args, fragment", [
    (["--method", "XYZ"], "invalid choice: 'XYZ'"),
    (["--sizes", "784,abc"], "'784,abc'"),
    (["--sizes", "100,10"], "must start with 784"),
    (["--sizes", "784,20,5"], "end with 10"),
    (["--sizes", "784,0,10"], "positive layer widths"),
    (["--lr", "-1"], "--lr"),
    (["--lr", "nan"], "--lr"),
    (["--epochs", "-1"], "--epochs"),
    (["--epochs", "0"], "--epochs"),
    (["--batch-size", "ten"], "--batch-size"),
    (["--momentum", "1"], "--momentum"),
    (["--resume", "--overwrite"], "not allowed with"),
    (["--data", "{tmp}/missing"], "missing"),
    (["--data", "{bad_mnist}"], "SHA-256 mismatch"),
    (["--resume", "--out", "{tmp}/empty"], "no checkpoint found"),
    (["--resume", "--out", "{ckpt}", "--method", "L0", "--sizes", "784,30,10", "--epochs", "2"],
     "checkpoint has sizes=[784, 20, 10], but sizes=[784, 30, 10] was asked for"),
    (["--resume", "--out", "{ckpt_truncated}", "--sizes", "784,20,10", "--epochs", "2"], "SHA-256 mismatch"),
])
def test_cli_bad_arguments_exit_2_with_one_line(tmp_path, capsys, tiny, args, fragment):
    """Each wrong argument gives exit status 2, one line on stderr naming the problem, no traceback."""
    needs = {"bad_mnist": lambda: _bad_mnist_dir(tmp_path),
             "ckpt_truncated": lambda: _checkpoint_dir(tmp_path, tiny, "truncate"),
             "ckpt": lambda: _checkpoint_dir(tmp_path, tiny)}
    values = {"tmp": str(tmp_path)}
    for key, make in needs.items():
        if any("{" + key + "}" in a for a in args):
            values[key] = make()
    capsys.readouterr()
    argv = [a.format(**values) for a in args] + (["--no-progress"] if "--no-progress" not in args else [])
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and captured.err.endswith("\n"), captured.err
    assert fragment in captured.err
    assert "Traceback" not in captured.err and captured.out == ""


def test_cli_help_exits_0(capsys):
    """--help prints the usage and returns 0."""
    assert main(["--help"]) == 0
    assert "--method" in capsys.readouterr().out


def test_cli_subprocess_unknown_method():
    """A real `python -m refimpl.lab.train --method XYZ` exits 2 with one line on stderr and no traceback."""
    proc = subprocess.run([sys.executable, "-m", "refimpl.lab.train", "--method", "XYZ"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "--method" in proc.stderr and "XYZ" in proc.stderr
