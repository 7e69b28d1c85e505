"""The training loop and command: learning happens, resuming is bit-identical, errors are one clean line."""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import shlex
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import refimpl.lab.train as train_mod
from refimpl.coupled import CoupledPair
from refimpl.lab.checkpoint import CheckpointError, load_checkpoint
from refimpl.lab.data import Dataset, load_embedded
from refimpl.lab.train import TrainConfig, TrainingDiverged, fit, main, provenance, recognition_error

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


TINY = {"sizes": (784, 20, 10), "batch_size": 50, "lr": 1e-2, "seed": 3}


def tiny_config(**changes):
    """The tiny network's settings with ``changes``."""
    return TrainConfig(**{**TINY, **changes})


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
    config = TrainConfig(method="L0", sizes=(784, 100, 10), epochs=2, batch_size=100, optimizer="adam",
                         lr=1e-2, seed=0)
    _, log = fit(None, embedded, config, progress=False)
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
    config = TrainConfig(method="L1", sizes=(784, 50, 10), epochs=3, batch_size=100, optimizer="adam",
                         lr=1e-3, seed=0)
    _, log = fit(None, data, config, progress=False)
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
    assert recognition_error(pair, x, np.array([0, 1, 2, 0]), batch_size=1) == 0.25


# ---------------------------------------------------------------- reproducibility
@pytest.mark.parametrize("method, optimizer, binarization, lr_decay", [
    ("L0", "adam", "threshold", 1.0),
    ("L1", "adam", "threshold", 0.5),
    ("L2", "adam", "threshold", 1.0),
    ("L1u", "sgd", "stochastic", 0.5),
    ("L2u", "sgd", "stochastic", 1.0),
    ("S2", "adam", "threshold", 0.5),
    ("S2u", "adam", "stochastic", 1.0),
])
def test_resume_is_bit_identical(tiny, tmp_path, method, optimizer, binarization, lr_decay):
    """2 epochs in one run == 1 epoch then resume for 1 more: parameters, optimiser, rng and log equal."""
    kw = {"method": method, "optimizer": optimizer, "binarization": binarization, "lam": 0.5,
          "lr_decay": lr_decay}
    if method.startswith("S"):
        kw["labelled"] = 50
    two, one = tiny_config(epochs=2, **kw), tiny_config(epochs=1, **kw)
    straight = fit(None, tiny, two, tmp_path / "a", progress=False)
    fit(None, tiny, one, tmp_path / "b", progress=False)
    resumed = fit(None, tiny, two, tmp_path / "b", resume=True, progress=False)
    _assert_same_run(straight, resumed)
    a, b = load_checkpoint(tmp_path / "a"), load_checkpoint(tmp_path / "b")
    assert a.rng_state == b.rng_state
    assert sorted(a.opt_state) == sorted(b.opt_state)
    for key, value in a.opt_state.items():
        assert np.array_equal(value, b.opt_state[key]), key
    # checkpointing does not perturb the run: the same without any files
    _assert_same_run(straight, fit(None, tiny, two, progress=False))


def test_lr_decay_scales_the_step_size_per_epoch(tiny, monkeypatch):
    """Epoch e steps with lr * lr_decay**(e-1): every optimiser step sees exactly that step size."""
    seen = []
    original = train_mod.SGD.step

    def spy(self, params, grads):
        seen.append(self.lr)
        return original(self, params, grads)

    monkeypatch.setattr(train_mod.SGD, "step", spy)
    fit(None, tiny, tiny_config(method="L0", optimizer="sgd", lr=0.2, lr_decay=0.5, epochs=3), progress=False)
    per_epoch = len(seen) // 3
    assert seen == [0.2] * per_epoch + [0.1] * per_epoch + [0.05] * per_epoch


def test_interrupted_epoch_resumes_bit_identically(tiny, tmp_path, monkeypatch):
    """Ctrl-C in the middle of epoch 2 leaves the epoch-1 checkpoint; resuming gives the uninterrupted run."""

    class Crash(KeyboardInterrupt):
        pass

    config = tiny_config(method="L1", epochs=2)
    straight = fit(None, tiny, config, tmp_path / "a", progress=False)
    original, calls = train_mod._step, {"n": 0}
    batches_per_epoch = 600 // TINY["batch_size"]

    def crashing_step(*args):
        calls["n"] += 1
        if calls["n"] == batches_per_epoch + 5:
            raise Crash
        return original(*args)

    monkeypatch.setattr(train_mod, "_step", crashing_step)
    with pytest.raises(Crash):
        fit(None, tiny, config, tmp_path / "b", progress=False)
    monkeypatch.undo()
    assert load_checkpoint(tmp_path / "b").meta["epoch"] == 1
    assert len((tmp_path / "b" / "log.jsonl").read_text().splitlines()) == 1
    _assert_same_run(straight, fit(None, tiny, config, tmp_path / "b", resume=True, progress=False))


def test_same_seed_same_run_other_seed_other_run(tiny):
    """The seed alone fixes the run; another seed gives other parameters."""
    a = fit(None, tiny, tiny_config(epochs=1), progress=False)
    _assert_same_run(a, fit(None, tiny, tiny_config(epochs=1), progress=False))
    c = fit(None, tiny, tiny_config(epochs=1, seed=4), progress=False)
    assert not np.array_equal(a[0].params["W1"], c[0].params["W1"])


def test_log_file_matches_returned_log(tiny, tmp_path):
    """log.jsonl holds one JSON line per epoch, equal to the returned records, with the documented fields."""
    config = tiny_config(method="L2", epochs=2)
    _, log = fit(None, tiny, config, tmp_path, eval_every_epoch=False, progress=False)
    lines = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert lines == log
    assert [sorted(r) for r in log] == [["epoch", "seconds", "terms", "test_error", "train_objective"]] * 2
    assert sorted(log[0]["terms"]) == ["G", "L0", "R"]
    assert log[0]["test_error"] is None and 0 <= log[1]["test_error"] <= 1


def test_given_pair_is_copied_not_modified(tiny):
    """A starting pair is trained as a copy; the caller's arrays stay untouched."""
    pair = CoupledPair((784, 20, 10), rng=np.random.default_rng(0), dtype=np.float64)
    before = {k: v.copy() for k, v in pair.params.items()}
    trained, _ = fit(pair, tiny, tiny_config(method="L0", epochs=1), progress=False)
    assert trained is not pair and trained.params["W1"].dtype == np.float32
    for key, value in before.items():
        assert np.array_equal(pair.params[key], value)
    assert not np.array_equal(trained.params["W1"], before["W1"].astype(np.float32))


# ------------------------------------------------------------ checkpoints in fit
def test_fresh_run_refuses_existing_checkpoint_unless_overwrite(tiny, tmp_path):
    """Without resume, an out_dir holding a checkpoint is an error; overwrite=True restarts run and log."""
    fit(None, tiny, tiny_config(method="L0", epochs=2), tmp_path, progress=False)
    with pytest.raises(ValueError, match="already holds a checkpoint"):
        fit(None, tiny, tiny_config(method="L0", epochs=1), tmp_path, progress=False)
    _, log = fit(None, tiny, tiny_config(method="L0", epochs=1), tmp_path, overwrite=True, progress=False)
    assert load_checkpoint(tmp_path).meta["epoch"] == 1
    assert len((tmp_path / "log.jsonl").read_text().splitlines()) == 1 == len(log)


def test_resume_auto_starts_or_continues(tiny, tmp_path):
    """resume="auto" starts afresh without a checkpoint and continues with one (equal to a straight run)."""
    one, two = tiny_config(method="L0", epochs=1), tiny_config(method="L0", epochs=2)
    fit(None, tiny, one, tmp_path / "b", resume="auto", progress=False)
    resumed = fit(None, tiny, two, tmp_path / "b", resume="auto", progress=False)
    _assert_same_run(fit(None, tiny, two, progress=False), resumed)
    # asking for no more epochs than done returns the checkpoint's pair unchanged
    again = fit(None, tiny, two, tmp_path / "b", resume=True, progress=False)
    _assert_same_run(resumed, again)


@pytest.mark.parametrize("change, problem", [
    ({"sizes": (784, 30, 10)}, "sizes"),
    ({"method": "L1u"}, "method"),
    ({"lr": 0.5}, "lr"),
    ({"optimizer": "sgd"}, "optimizer"),
    ({"binarization": "stochastic"}, "binarization"),
    ({"seed": 9}, "seed"),
])
def test_resume_with_other_settings_is_rejected(tiny, tmp_path, change, problem):
    """Resuming with settings other than the checkpoint's names the field and the file."""
    fit(None, tiny, tiny_config(method="L1", epochs=1), tmp_path, progress=False)
    with pytest.raises(CheckpointError, match=f"checkpoint has {problem}=") as info:
        fit(None, tiny, tiny_config(**{"method": "L1", "epochs": 2, **change}), tmp_path, resume=True,
            progress=False)
    assert str(tmp_path / "checkpoint.json") in str(info.value)


def test_resume_with_other_data_is_rejected(embedded, tiny, tmp_path):
    """Resuming on different images (same sizes) is detected through the data fingerprint."""
    fit(None, tiny, tiny_config(method="L0", epochs=1), tmp_path, progress=False)
    with pytest.raises(CheckpointError, match="data"):
        other = _subset(embedded, 600, 200, offset=600)
        fit(None, other, tiny_config(method="L0", epochs=2), tmp_path, resume=True, progress=False)


def test_resume_errors(tiny, tmp_path):
    """No checkpoint, a checkpoint beyond the asked epochs, or resume without out_dir: clear errors."""
    one, two = tiny_config(method="L0", epochs=1), tiny_config(method="L0", epochs=2)
    with pytest.raises(FileNotFoundError, match="no checkpoint found"):
        fit(None, tiny, two, tmp_path / "empty", resume=True, progress=False)
    fit(None, tiny, two, tmp_path, progress=False)
    with pytest.raises(CheckpointError, match="epochs must be at least the checkpoint's epoch 2"):
        fit(None, tiny, one, tmp_path, resume=True, progress=False)
    with pytest.raises(ValueError, match="out_dir"):
        fit(None, tiny, one, None, resume=True, progress=False)
    with pytest.raises(ValueError, match="resume must be"):
        fit(None, tiny, one, tmp_path, resume="yes", progress=False)


@pytest.mark.parametrize("field, value, error", [
    ("method", "XYZ", ValueError),
    ("optimizer", "rmsprop", ValueError),
    ("binarization", "gray", ValueError),
    ("normalise", "batch", ValueError),
    ("epochs", 0, ValueError),
    ("epochs", 2.5, TypeError),
    ("batch_size", 0, ValueError),
    ("lr", -0.1, ValueError),
    ("lr", 0.0, ValueError),
    ("lr", float("nan"), ValueError),
    ("lr", "0.1", TypeError),
    ("lr_decay", 0.0, ValueError),
    ("lr_decay", 1.5, ValueError),
    ("lam", -1.0, ValueError),
    ("lam", float("inf"), ValueError),
    ("lam", 1e300, ValueError),
    ("momentum", 1.0, ValueError),
    ("init_scale", -0.01, ValueError),
    ("seed", -1, ValueError),
    ("sizes", (784,), ValueError),
    ("sizes", (784, 0, 10), ValueError),
    ("sizes", "784,10", TypeError),
    ("sizes", (784, 2_000_000_000, 10), ValueError),
])
def test_train_config_rejects_each_bad_field_naming_it(field, value, error):
    """Every field is checked on construction; the message starts with the field's name."""
    with pytest.raises(error, match=f"^{field}"):
        TrainConfig(**{field: value})


def test_train_config_is_frozen_and_normalises_values():
    """A config cannot change after its checks; sizes become a tuple, numbers floats."""
    config = TrainConfig(sizes=[784, 30, 10], lr=1, lam=2)
    assert (config.sizes, config.lr, config.lam) == ((784, 30, 10), 1.0, 2.0)
    assert type(config.lr) is float
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.lr = 5.0
    assert dataclasses.replace(config, method="L1u").tied is False


def test_fit_checks_its_config_and_the_sizes_against_the_data(tiny):
    """fit takes a TrainConfig (not a dict) and sizes that fit the data's pixels and classes."""
    with pytest.raises(TypeError, match="config must be a TrainConfig"):
        fit(None, tiny, {"method": "L0"}, progress=False)
    with pytest.raises(ValueError, match="sizes must start with 784 .* end with 10"):
        fit(None, tiny, tiny_config(sizes=(784, 20, 5)), progress=False)


def test_fit_rejects_pair_of_the_wrong_kind(tiny):
    """A tied pair for an untied method, or a pair of other sizes than the config's, is refused."""
    pair = CoupledPair((784, 20, 10), tied=True, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="tied"):
        fit(pair, tiny, tiny_config(method="L1u", epochs=1), progress=False)
    with pytest.raises(ValueError, match="sizes"):
        fit(pair, tiny, tiny_config(sizes=(784, 30, 10), epochs=1), progress=False)


@pytest.mark.parametrize("labels", [np.full(600, 0.7), np.arange(600) % 10 - 1.0])
def test_fit_rejects_labels_that_are_not_digits(tiny, labels):
    """Float labels are not truncated (0.7 -> 0) and negative ones not wrapped: the field is named."""
    data = SimpleNamespace(train_images=tiny.train_images, train_labels=labels, test_images=tiny.test_images,
                           test_labels=tiny.test_labels)
    with pytest.raises(ValueError, match="^train_labels must hold"):
        fit(None, data, tiny_config(epochs=1), progress=False)


def test_training_that_blows_up_stops_naming_lr_and_epoch(tiny, tmp_path):
    """A huge step size makes the parameters explode in epoch 1: TrainingDiverged, not a silent -3e31."""
    with pytest.raises(TrainingDiverged, match=r"epoch 1: a parameter reached magnitude .* lr=1e\+30"):
        fit(None, tiny, tiny_config(lr=1e30, epochs=2), tmp_path, progress=False)
    assert not (tmp_path / "checkpoint.json").exists()


def test_a_non_finite_objective_stops_training_and_keeps_the_last_checkpoint(tiny, tmp_path, monkeypatch):
    """A NaN objective in epoch 2 stops the run at once; the checkpoint and log of epoch 1 stay."""
    original, calls = train_mod._step, {"n": 0}
    batches_per_epoch = 600 // TINY["batch_size"]

    def step_going_nan(*args):
        terms, objective, grads = original(*args)
        calls["n"] += 1
        return terms, (np.nan if calls["n"] > batches_per_epoch + 2 else objective), grads

    monkeypatch.setattr(train_mod, "_step", step_going_nan)
    with pytest.raises(TrainingDiverged, match="epoch 2: in batch 3 of 12, the objective is nan; lower lr "
                                               r"or lam \(this run: lr=0.01, lam=1"):
        fit(None, tiny, tiny_config(method="L2", epochs=3), tmp_path, progress=False)
    assert load_checkpoint(tmp_path).meta["epoch"] == 1
    records = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2] and "the objective is nan" in records[1]["diverged"]


def test_provenance_outside_a_git_checkout_is_unknown(tmp_path, monkeypatch):
    """Without the project's git checkout the commit is "unknown" (no failure); versions are always there."""
    here = provenance()
    assert set(here) == {"python", "numpy", "numba", "git_commit", "git_dirty"}
    assert here["numpy"] == np.__version__ and here["python"].count(".") == 2
    train_mod._git.cache_clear()
    monkeypatch.setattr(train_mod, "__file__", str(tmp_path / "refimpl" / "lab" / "train.py"))
    try:
        elsewhere = provenance()
    finally:
        train_mod._git.cache_clear()
    assert elsewhere["git_commit"] == "unknown" and elsewhere["git_dirty"] is None


# ------------------------------------------------------------------------ CLI
CLI_TINY = ["--sizes", "784,20,10", "--epochs", "1", "--no-progress", "--lr", "0.01"]


def _one_line_error(captured, status_line_fragment=""):
    """stderr holds exactly one line, no traceback; stdout nothing."""
    assert captured.err.count("\n") == 1 and captured.err.endswith("\n"), captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    assert status_line_fragment in captured.err, captured.err


def _result(stdout: str) -> dict:
    """The run's result: the JSON object on the last line of stdout."""
    return json.loads(stdout.splitlines()[-1])


def test_cli_trains_then_resumes(tmp_path, capsys):
    """A run exits 0 and prints its result; --resume continues; a fresh run into the same --out is refused."""
    out = str(tmp_path / "run")
    assert main(["--method", "L0", "--out", out] + CLI_TINY) == 0
    first = _result(capsys.readouterr().out)
    assert first["epoch"] == 1 and 0 <= first["test_error"] <= 1
    more = ["--sizes", "784,20,10", "--epochs", "2", "--no-progress", "--lr", "0.01"]
    assert main(["--method", "L0", "--out", out, "--resume", *more]) == 0
    assert _result(capsys.readouterr().out)["epoch"] == 2
    assert main(["--method", "L0", "--out", out] + CLI_TINY) == 2
    _one_line_error(capsys.readouterr(), "already holds a checkpoint")


def test_cli_prints_each_file_it_writes(tmp_path, capsys):
    """Before its result, train prints one "wrote <path>" line per file of --out: checkpoint, arrays, log."""
    out = tmp_path / "run"
    assert main(["--method", "L0", "--out", str(out)] + CLI_TINY) == 0
    lines = capsys.readouterr().out.splitlines()
    wrote = sorted(Path(line.removeprefix("wrote ")) for line in lines if line.startswith("wrote "))
    assert wrote == sorted(out.iterdir()) and len(wrote) == 3, lines
    assert _result("\n".join(lines))["epoch"] == 1


def test_cli_existing_checkpoint_message_speaks_of_options(tmp_path, capsys):
    """Refusing a fresh run into a checkpoint's folder names --resume, --overwrite and --out, not Python names."""
    out = str(tmp_path / "run")
    assert main(["--method", "L0", "--out", out] + CLI_TINY) == 0
    capsys.readouterr()
    assert main(["--method", "L0", "--out", out] + CLI_TINY) == 2
    err = capsys.readouterr().err
    _one_line_error(SimpleNamespace(err=err, out=""), "add --resume to continue it, --overwrite to start afresh")
    assert "resume=True" not in err and "out_dir" not in err and "overwrite=True" not in err


def test_cli_out_an_existing_file_exits_2_naming_out(tmp_path, capsys):
    """--out naming a file (or a path through one) is refused before anything runs, naming --out."""
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine\n")
    for out, fragment in ((a_file, "--out must be a folder (made if missing); got"),
                          (a_file / "run", "is a file, not a folder")):
        assert main(["--method", "L0", "--out", str(out)] + CLI_TINY) == 2
        captured = capsys.readouterr()
        _one_line_error(captured, fragment)
        assert "Errno" not in captured.err and str(a_file) in captured.err
    assert a_file.read_text() == "mine\n"


def test_cli_out_that_cannot_be_made_exits_2_naming_out(tmp_path, capsys):
    """An --out whose folder cannot be made (under /proc, which takes no new folders) names --out, not errno."""
    out = Path("/proc") / f"refimpl-no-such-{os.getpid()}"
    if not Path("/proc/self").exists():
        pytest.skip("this system has no /proc")
    assert main(["--method", "L0", "--out", str(out)] + CLI_TINY) == 2
    captured = capsys.readouterr()
    _one_line_error(captured, f"--out {out}: cannot create the folder")
    assert "[Errno" not in captured.err


def test_cli_init_scale_too_large_is_refused_naming_it(capsys):
    """--init-scale 1e308 is refused at the command line (it used to overflow, warn and blame weights[0])."""
    assert main(["--init-scale", "1e308", "--no-progress"]) == 2
    captured = capsys.readouterr()
    _one_line_error(captured, "--init-scale must be a finite number in [0, 1000]; got 1e+308")
    assert "weights[0]" not in captured.err
    with pytest.raises(ValueError, match="init_scale must be a finite number in"):
        TrainConfig(init_scale=1e308)


def test_cli_train_images_selects_the_first_images(tmp_path, capsys):
    """--train-images N trains on the first N images, as the same subset given to fit does."""
    assert main(["--method", "L0", "--out", str(tmp_path / "a"), "--train-images", "300", *CLI_TINY]) == 0
    capsys.readouterr()
    ckpt = load_checkpoint(tmp_path / "a")
    assert ckpt.meta["n_train"] == 300 and "first 300 training images" in ckpt.meta["data"]
    config = TrainConfig(method="L0", sizes=(784, 20, 10), epochs=1, lr=0.01)
    pair, _ = fit(None, load_embedded().with_train_images(300), config, progress=False)
    assert np.array_equal(pair.params["W1"], ckpt.params["W1"])


def _bad_mnist_dir(tmp_path):
    d = tmp_path / "bad_mnist"
    d.mkdir()
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        (d / f"{stem}.gz").write_bytes(b"not the real file")
    return str(d)


def _checkpoint_dir(tmp_path, data, damage=None):
    out = tmp_path / "ckpt"
    fit(None, data, tiny_config(method="L0", epochs=1), out, progress=False)
    if damage == "truncate":
        npz = next(out.glob("*.npz"))
        npz.write_bytes(npz.read_bytes()[:-10])
    return str(out)


@pytest.mark.parametrize("args, fragment", [
    (["--method", "XYZ"], "invalid choice: 'XYZ'"),
    (["--sizes", "784,abc"], "--sizes must be comma-separated integers; got '784,abc'"),
    (["--sizes", "100,10"], "--sizes must start with 784"),
    (["--sizes", "784,20,5"], "end with 10"),
    (["--sizes", "784,0,10"], "--sizes[1] must be an integer >= 1; got 0"),
    (["--sizes", "784,2000000000,10"], "--sizes 784,2000000000,10 need 1,588,000,000,000 weights"),
    (["--lr", "-1"], "--lr must be a finite number > 0; got -1.0"),
    (["--lr", "nan"], "--lr must be a finite number > 0; got nan"),
    (["--lr", "fast"], "--lr must be a number; got 'fast'"),
    (["--lr-decay", "1.5"], "--lr-decay must be a finite number in (0, 1]; got 1.5"),
    (["--lam", "1e300", "--method", "L2"], "--lam must be a finite number in [0, 1e+06]; got 1e+300 (the"),
    (["--lam", "5", "--method", "L0"], "--lam applies only to --method L2, L2u"),
    (["--lam", "5", "--method", "RWS"], "--method RWS ignores it"),
    (["--normalise", "units", "--method", "L1"], "--method L1 ignores it: drop --normalise"),
    (["--momentum", "0.5"], "--momentum applies only to --optimizer sgd; --optimizer adam ignores it"),
    (["--momentum", "1", "--optimizer", "sgd"], "--momentum must be a finite number in [0, 1)"),
    (["--epochs", "-1"], "--epochs must be an integer >= 1; got -1"),
    (["--epochs", "0"], "--epochs"),
    (["--batch-size", "ten"], "--batch-size must be an integer; got 'ten'"),
    (["--train-images", "999999999"], "train_images must be at most 10,000, the training images of embedded"),
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
    argv = [a.format(**values) for a in args] + ["--no-progress", "--out", str(tmp_path / "fresh")] * (
        "--out" not in args)
    assert main(argv) == 2
    _one_line_error(capsys.readouterr(), fragment)
    assert not (tmp_path / "fresh").exists()


def test_cli_diverging_run_exits_1_naming_lr_and_epoch(tmp_path, capsys):
    """--lr 1e30 stops in epoch 1 with one line naming lr (the run used to end silently at -3.7e31)."""
    assert main(["--out", str(tmp_path), "--lr", "1e30", *CLI_TINY[:4], "--no-progress"]) == 1
    captured = capsys.readouterr()
    _one_line_error(captured, "training diverged in epoch 1")
    assert "lower lr (this run: lr=1e+30, optimizer adam)" in captured.err
    records = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert records and records[-1]["epoch"] == 1, "the log says what happened (it used to be empty)"
    assert records[-1]["diverged"] == captured.err.split("error: ", 1)[1].strip()


def test_cli_ctrl_c_exits_130_saying_how_to_resume(tmp_path, capsys, monkeypatch):
    """Ctrl-C in epoch 2: exit 130, one line holding the command that resumes; it finishes the run."""
    original, calls = train_mod._step, {"n": 0}

    def interrupted_step(*args):
        calls["n"] += 1
        if calls["n"] == 150:  # epoch 2 of 100 batches each (10,000 embedded images)
            raise KeyboardInterrupt
        return original(*args)

    monkeypatch.setattr(train_mod, "_step", interrupted_step)
    argv = ["--method", "L0", "--out", str(tmp_path), "--sizes", "784,10", "--epochs", "2", "--no-progress",
            "--overwrite"]
    assert main(argv) == 130
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert "interrupted; the last complete checkpoint" in captured.err
    command = shlex.split(captured.err.split("continue it with: ")[1])
    assert command[:3] == ["python", "-m", "refimpl.lab.train"] and "--resume" in command
    assert "--overwrite" not in command
    monkeypatch.undo()
    assert main(command[3:]) == 0
    assert _result(capsys.readouterr().out)["epoch"] == 2


def test_cli_network_error_exits_1_with_one_line(tmp_path, capsys, monkeypatch):
    """--data download without a network: one line naming the download, exit 1, nothing half-written."""
    def offline(*args, **kwargs):
        raise urllib.error.URLError(OSError(-3, "Temporary failure in name resolution"))

    monkeypatch.setenv("REFIMPL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    assert main(["--data", "download", "--out", str(tmp_path / "run"), *CLI_TINY]) == 1
    _one_line_error(capsys.readouterr(), "downloading https://")
    assert list((tmp_path / "cache" / "mnist").iterdir()) == []


def test_cli_help_is_complete_and_correct(capsys):
    """--help exits 0; every option has help; all methods are listed; lr-decay's default is not 'constant'."""
    parser = train_mod.build_parser()
    for action in parser._actions:
        assert action.help and action.help != argparse.SUPPRESS, action.option_strings
    assert main(["--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for method in train_mod.METHODS:
        assert method in text
    assert "(constant)" not in text and "1.0 keeps it constant; default 0.85" in text


def test_cli_subprocess_unknown_method():
    """A real `python -m refimpl.lab.train --method XYZ` exits 2 with one line on stderr and no traceback."""
    proc = subprocess.run([sys.executable, "-m", "refimpl.lab.train", "--method", "XYZ"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "--method" in proc.stderr and "XYZ" in proc.stderr


# ---------------------------------------------------------------- scarce labels
def test_labelled_subset_is_class_balanced_and_fixed_by_the_seed(tiny):
    """labelled_subset takes the same number of images from every class, the same ones for the same seed."""
    kept = train_mod.labelled_subset(tiny.train_labels, 50, seed=3)
    assert kept.size == 50 and np.unique(kept).size == 50
    assert np.array_equal(np.bincount(tiny.train_labels[kept], minlength=10), np.full(10, 5))
    assert np.array_equal(kept, train_mod.labelled_subset(tiny.train_labels, 50, seed=3))
    assert not np.array_equal(kept, train_mod.labelled_subset(tiny.train_labels, 50, seed=4))
    with pytest.raises(ValueError, match="labelled must be a multiple of the 10 classes"):
        train_mod.labelled_subset(tiny.train_labels, 55, seed=3)
    with pytest.raises(ValueError, match="labelled asks for 100 images of class"):
        train_mod.labelled_subset(tiny.train_labels, 1000, seed=3)


def test_s2_reports_its_terms_and_l0_with_labelled_sees_only_the_kept_images(tiny):
    """S2 reports G, G_l, R and L0 (S2noLW no G_l); L0 with labelled=50 is unchanged when every other training
    image is blanked."""
    _, log = fit(None, tiny, tiny_config(method="S2", labelled=50, lam=10.0, epochs=1), progress=False)
    assert sorted(log[0]["terms"]) == ["G", "G_l", "L0", "R"]
    _, log = fit(None, tiny, tiny_config(method="S2noLW", labelled=50, lam=10.0, epochs=1), progress=False)
    assert sorted(log[0]["terms"]) == ["G", "L0", "R"]
    kept = train_mod.labelled_subset(tiny.train_labels, 50, seed=TINY["seed"])
    blanked = np.zeros_like(tiny.train_images)
    blanked[kept] = tiny.train_images[kept]
    other = Dataset(blanked, tiny.train_labels, tiny.test_images, tiny.test_labels, source=tiny.source)
    config = tiny_config(method="L0", labelled=50, epochs=1)
    _assert_same_run(fit(None, tiny, config, progress=False), fit(None, other, config, progress=False))
    s2 = tiny_config(method="S2", labelled=50, lam=10.0, epochs=1)
    a, b = fit(None, tiny, s2, progress=False)[0], fit(None, other, s2, progress=False)[0]
    assert not np.array_equal(a.params["c0"], b.params["c0"])  # S2 does learn from the unlabelled images


@pytest.mark.parametrize("changes, message", [
    ({"method": "S2"}, "labelled must be set for method S2"),
    ({"method": "L1", "labelled": 50}, "labelled applies only to the methods L0, S2, S2u and S2noLW"),
    ({"method": "S2u", "labelled": 0}, "labelled must be an integer >= 1"),
    ({"method": "S2noLW", "labelled": 50, "labelled_weight": 2.0}, "labelled_weight applies only to the methods S2"),
    ({"method": "S2", "labelled": 50, "labelled_weight": -1.0}, "labelled_weight must be a finite number in"),
])
def test_train_config_rejects_inconsistent_labelled(changes, message):
    """S2/S2u need labelled; the fully supervised rules refuse it; it must be a positive integer."""
    with pytest.raises(ValueError, match=message):
        tiny_config(**changes)


def test_s2nolw_is_s2_with_the_labelled_wake_term_weighted_zero(tiny):
    """The ablation S2noLW trains exactly as S2 with labelled_weight 0 (the same draws, the same parameters),
    and S2 with the term differs from it."""
    ablation = fit(None, tiny, tiny_config(method="S2noLW", labelled=50, lam=10.0, epochs=1), progress=False)
    zero = fit(None, tiny, tiny_config(method="S2", labelled=50, lam=10.0, epochs=1, labelled_weight=0.0),
               progress=False)
    full = fit(None, tiny, tiny_config(method="S2", labelled=50, lam=10.0, epochs=1), progress=False)
    for key in ablation[0].params:
        assert np.array_equal(ablation[0].params[key], zero[0].params[key]), key
    assert not np.array_equal(ablation[0].params["c0"], full[0].params["c0"])


def test_augment_redraws_only_the_unlabelled_images(tiny, monkeypatch):
    """With augment, the unlabelled batches are stochastic draws (grey levels in between 0 and 1 give other
    images than the threshold), the labelled batch stays thresholded, and the rule is refused where it does
    not apply."""
    seen = {"unlabelled": [], "labelled": []}
    real_step = train_mod._step

    def spy(method, pair, x, y, rng, lam, normalise, labelled=None, labelled_weight=1.0):
        seen["unlabelled"].append(x.copy())
        seen["labelled"].append(labelled[0].copy())
        return real_step(method, pair, x, y, rng, lam, normalise, labelled, labelled_weight)

    monkeypatch.setattr(train_mod, "_step", spy)
    fit(None, tiny, tiny_config(method="S2", labelled=50, lam=10.0, epochs=1, augment=True), progress=False)
    threshold = (tiny.train_images >= 0.5).astype(np.float32)
    rows = {tuple(r) for r in threshold}
    assert all(tuple(r) in rows for batch in seen["labelled"] for r in batch)  # labelled: thresholded images
    unlabelled = np.concatenate(seen["unlabelled"])
    assert np.mean([tuple(r) in rows for r in unlabelled]) < 0.5  # unlabelled: mostly other (stochastic) images
    with pytest.raises(ValueError, match="augment applies only to the methods S2, S2u, S2noLW"):
        tiny_config(method="L1", augment=True)
    with pytest.raises(TypeError, match="augment must be True or False"):
        tiny_config(method="S2", labelled=50, augment="yes")


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT, a POSIX signal")
def test_ctrl_c_while_a_command_starts_ends_in_one_line_without_a_traceback():
    """Ctrl-C during the imports (before the command's own handler runs) prints one line, no traceback."""
    import signal
    import time

    root = Path(__file__).resolve().parents[1]
    interrupted = []
    for delay in (0.2, 0.4, 0.7):
        child = subprocess.Popen([sys.executable, "-m", "refimpl.lab.train", "--help"], cwd=root,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                 preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        time.sleep(delay)
        child.send_signal(signal.SIGINT)
        err = child.communicate(timeout=60)[1]
        if "init_import_site" in err:  # the interpreter's own start, before any line of the project ran
            continue
        assert "Traceback" not in err, err
        if child.returncode != 0:
            interrupted.append(err.strip())
    assert interrupted, "every run finished before the signal: nothing was tested"
    # one line, or nothing when the signal came as the interpreter was already shutting down
    assert all(e == "" or (len(e.splitlines()) == 1 and "interrupted" in e) for e in interrupted), interrupted
    assert any(e for e in interrupted), "no run was interrupted during the imports: nothing was tested"
