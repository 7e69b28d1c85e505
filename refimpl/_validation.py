"""Input validation, gathered in one place: the boundary of the lesson.

Each public entry point names the check of each argument in one decorator, :func:`boundary`; its
body then trusts them. Each check takes the argument's name so that the message says which
argument is wrong, what was expected and what was received. ``ValueError`` for values and
shapes, ``TypeError`` for types.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import numbers

import numpy as np

_TRUSTED = contextvars.ContextVar("refimpl_trusted", default=False)


def boundary(*joint, **specs):
    """Check a public entry point's arguments once, at the outermost call; its body trusts them.

    Each ``specs[name]`` is called as ``spec(value, name, args)`` (``args``: the arguments by
    name, those before it already checked) and returns the value the body receives; each of
    ``joint`` checks several arguments at once, ``check(args)``, updating ``args`` in place.
    A call from inside another checked function is trusted as it is (as scikit-learn's nested
    validation is), so arithmetic is never re-checked on its way down. Hence a checked function
    checks every argument it hands on to another one (tests/test_boundary.py walks the entry points).
    """
    def decorate(fn):
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def checked(*args, **kwargs):
            if _TRUSTED.get():
                return fn(*args, **kwargs)
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            for name, spec in specs.items():
                bound.arguments[name] = spec(bound.arguments[name], name, bound.arguments)
            for check in joint:
                check(bound.arguments)
            token = _TRUSTED.set(True)
            try:
                return fn(*bound.args, **bound.kwargs)
            finally:
                _TRUSTED.reset(token)

        return checked

    return decorate


def _describe(x) -> str:
    return type(x).__name__


def check_rng(rng, name: str = "rng") -> np.random.Generator:
    """Return ``rng`` if it is a ``numpy.random.Generator``, else raise TypeError."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"{name} must be a numpy.random.Generator, e.g. np.random.default_rng(0); "
            f"got {_describe(rng)}."
        )
    return rng


def as_float_array(x, name: str, dtype=np.float64) -> np.ndarray:
    """Convert ``x`` to a float array (a copy only when needed); reject non-numeric input."""
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be an array of numbers; got {_describe(x)}.")
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{name} could not be converted to an array: {exc}") from None
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise TypeError(f"{name} must be an array of numbers; got dtype {arr.dtype}.")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real; got dtype {arr.dtype}.")
    return np.asarray(arr, dtype=dtype)


def check_finite(arr: np.ndarray, name: str) -> np.ndarray:
    """Raise ValueError if ``arr`` contains NaN or infinity."""
    if not np.all(np.isfinite(arr)):
        bad = "NaN" if np.any(np.isnan(arr)) else "infinity"
        raise ValueError(f"{name} must be finite; got an array containing {bad}.")
    return arr


def check_binary(arr: np.ndarray, name: str) -> np.ndarray:
    """Raise ValueError unless every entry of ``arr`` is 0 or 1."""
    check_finite(arr, name)
    if arr.size and not np.all((arr == 0) | (arr == 1)):
        raise ValueError(
            f"{name} must be binary (0/1); got values in "
            f"[{float(np.min(arr)):g}, {float(np.max(arr)):g}]."
        )
    return arr


def _shape_text(shape) -> str:
    return "(" + ", ".join("..." if d is Ellipsis else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _fits(actual, shape) -> bool:
    """Whether ``actual`` fits ``shape``: its ints must be equal, its names match any length, ``...`` leading axes."""
    if shape[:1] == (Ellipsis,):
        shape, actual = shape[1:], actual[len(actual) - len(shape) + 1:] if len(actual) >= len(shape) - 1 else None
    return actual is not None and len(actual) == len(shape) and all(
        isinstance(d, str) or d == a for d, a in zip(shape, actual, strict=True))


def check_broadcast(what: str, *shapes) -> None:
    """Raise ValueError unless ``shapes`` broadcast together; ``what`` names them in the message."""
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(f"{what} must broadcast together; got shapes {', '.join(map(str, shapes))}.") from None


def check_one_hot(arr: np.ndarray, name: str) -> np.ndarray:
    """Raise ValueError unless every row (last axis) of the categorical output ``arr`` is one-hot."""
    if not np.all(arr.sum(axis=-1) == 1):
        raise ValueError(f"{name} is the categorical output and must be one-hot in every row.")
    return arr


def array(x, name: str, dtype=np.float64, shape=None, *, binary=False, low=None, high=None, note="") -> np.ndarray:
    """``x`` as a finite array of ``dtype`` (a copy only when needed), checked against what is declared.

    ``shape`` lists the axes: an int must match, a name (such as ``"N"``) matches any length and a
    leading ``...`` any number of axes; ``note`` completes the shape message ("to match W of shape
    (3, 4)"). ``binary`` allows only 0 and 1, ``low`` and ``high`` bound the values (inclusive).

    Examples
    --------
    >>> array([[0.5, 1.0]], "mu", shape=(..., 2), low=0, high=1)
    array([[0.5, 1. ]])
    >>> array([1.0, 2.0], "b", shape=(3,), note="to match W of shape (3, 2)")
    Traceback (most recent call last):
    ...
    ValueError: b must have shape (3,) to match W of shape (3, 2); got shape (2,).
    """
    arr = as_float_array(x, name, dtype)
    if shape is not None and not _fits(arr.shape, tuple(shape)):
        note = f" {note}" if note else ""
        raise ValueError(f"{name} must have shape {_shape_text(shape)}{note}; got shape {arr.shape}.")
    (check_binary if binary else check_finite)(arr, name)
    if arr.size and ((low is not None and arr.min() < low) or (high is not None and arr.max() > high)):
        expected = f"in [{low:g}, {high:g}]" if low is not None and high is not None else (
            f">= {low:g}" if low is not None else f"<= {high:g}")
        raise ValueError(f"{name} must hold values {expected}; got values in [{arr.min():g}, {arr.max():g}].")
    return arr


def as_batch(x, name: str, width: int, binary: bool = True, dtype=np.float64):
    """Validate one vector of shape ``(width,)`` or a batch ``(B, width)``.

    Returns
    -------
    batch : ndarray of shape (B, width)
        A float array (never the caller's array modified in place).
    single : bool
        True if the input was one vector, so that callers can drop the batch axis.
    """
    arr = as_float_array(x, name, dtype=dtype)
    if arr.ndim not in (1, 2) or arr.shape[-1] != width:
        raise ValueError(f"{name} must have shape ({width},) or (batch, {width}); got shape {arr.shape}.")
    if arr.size == 0:
        raise ValueError(f"{name} must hold at least one row; got shape {arr.shape}.")
    (check_binary if binary else check_finite)(arr, name)
    return arr.reshape(-1, width), arr.ndim == 1


def check_positive_int(n, name: str, minimum: int = 1) -> int:
    """Return ``n`` as int if it is an integer >= ``minimum``."""
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {_describe(n)}.")
    if n < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {n}.")
    return int(n)


def check_choice(value, name: str, choices) -> str:
    """Raise ValueError unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}; got {value!r}.")
    return value


def check_labels(
    y, n_classes: int, name: str = "y", batch: int | None = None, against: str = "the batch", shaped: bool = True
) -> np.ndarray:
    """Integer class labels of shape ``(B,)`` in ``[0, n_classes)``; returns an int64 array.

    Integer dtypes and floats holding whole numbers are accepted. If ``batch`` is
    given, ``B`` must equal it (``against`` names what it must match in the message).
    ``shaped=False`` accepts labels of any shape, none included (as :func:`refimpl.layers.one_hot` does).
    """
    arr = np.asarray(y)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be an array of integer class labels; got dtype {arr.dtype}.")
    shape, note = ("batch",) if batch is None else (batch,), "" if batch is None else f" to match {against}"
    if shaped and not _fits(arr.shape, shape):
        raise ValueError(f"{name} must have shape {_shape_text(shape)}{note}; got shape {arr.shape}.")
    if shaped and arr.size == 0:
        raise ValueError(f"{name} must hold at least one label; got shape {arr.shape}.")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr) & (arr == np.round(arr))):
        raise ValueError(f"{name} must hold integer class labels; got non-integer values.")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= n_classes):
        raise ValueError(
            f"{name} must hold labels in [0, {n_classes}); got values in [{arr.min()}, {arr.max()}]."
        )
    return arr


def check_float_dtype(dtype, name: str = "dtype") -> np.dtype:
    """Return ``dtype`` as a NumPy dtype if it is float32 or float64, else raise TypeError.

    Integer dtypes would truncate weights silently and float16 loses too much
    precision in the sums of a layer, so neither is accepted.
    """
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} must be float32 or float64; got {dtype!r}.") from None
    if dt not in (np.float32, np.float64):
        raise TypeError(f"{name} must be float32 or float64; got {dt}.")
    return dt


def check_nonnegative(value, name: str) -> float:
    """Return ``value`` as float if it is a finite real number >= 0 (or a 0-d array of one), else raise."""
    value = value.item() if isinstance(value, np.ndarray) and value.ndim == 0 else value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {_describe(value)}.")
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0; got {value!r}.")
    return float(value)


def check_real(value, name: str, low=None, high=None, *, low_open: bool = False, high_open: bool = False,
               hint: str = "") -> float:
    """Return ``value`` as float if it is a finite real number within the bounds, else raise.

    ``low`` and ``high`` (None: unbounded) belong to the allowed range unless
    ``low_open`` / ``high_open``; ``hint`` is added to the message in brackets.

    Examples
    --------
    >>> check_real(0.85, "lr_decay", 0, 1, low_open=True)
    0.85
    >>> check_real(2, "lr_decay", 0, 1, low_open=True)
    Traceback (most recent call last):
    ...
    ValueError: lr_decay must be a finite number in (0, 1]; got 2.0.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {_describe(value)}.")
    value = float(value)
    if low is not None and high is not None:
        expected = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    elif low is not None:
        expected = f"{'>' if low_open else '>='} {low:g}"
    else:
        expected = "" if high is None else f"{'<' if high_open else '<='} {high:g}"
    below = low is not None and (value < low or (low_open and value == low))
    above = high is not None and (value > high or (high_open and value == high))
    if not np.isfinite(value) or below or above:
        note = f" ({hint})" if hint else ""
        raise ValueError(f"{name} must be a finite number{' ' + expected if expected else ''}; "
                         f"got {value!r}{note}.")
    return value


def check_layer_sizes(sizes, name: str = "sizes", max_weights: int | None = None) -> tuple:
    """Layer widths: a sequence of at least two positive integers, returned as a tuple of int.

    With ``max_weights``, the weights between consecutive layers (the sum of
    ``sizes[k] * sizes[k + 1]``) must not exceed it, so that an absurd width
    fails here with a message instead of as a MemoryError later.

    Examples
    --------
    >>> check_layer_sizes([784, 500, 10])
    (784, 500, 10)
    >>> check_layer_sizes((784, 2_000_000_000, 10), max_weights=10**8)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: sizes 784,2000000000,10 need 1,588,000,000,000 weights (about 25,408 GB ...); at most ...
    """
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__"):
        raise TypeError(f"{name} must be a sequence of layer widths such as (784, 500, 500, 10); "
                        f"got {_describe(sizes)}.")
    sizes = tuple(check_positive_int(d, f"{name}[{i}]") for i, d in enumerate(sizes))
    if len(sizes) < 2:
        raise ValueError(f"{name} must list at least two layer widths (input, ..., output); got {sizes}.")
    weights = sum(sizes[k] * sizes[k + 1] for k in range(len(sizes) - 1))
    if max_weights is not None and weights > max_weights:
        raise ValueError(f"{name} {','.join(map(str, sizes))} need {weights:,} weights (about "
                         f"{16 * weights / 1e9:,.0f} GB as float32 values, gradients and optimiser moments); "
                         f"at most {max_weights:,} are allowed: choose narrower layers.")
    return sizes


def as_real_array(x, name: str) -> np.ndarray:
    """``x`` as an array of real numbers in its own floating dtype (bool and integers become float64).

    Rejects what :func:`as_float_array` rejects (strings, None, object and
    complex arrays), with its messages. A float ndarray is returned as it is,
    after an O(1) look at its dtype: no copy, no pass over its values, so this
    check costs nothing on a training hot path.

    Examples
    --------
    >>> as_real_array(np.zeros(2, np.float32), "a").dtype
    dtype('float32')
    >>> as_real_array([1, 0], "a")
    array([1., 0.])
    >>> as_real_array("a", "a")
    Traceback (most recent call last):
    ...
    TypeError: a must be an array of numbers; got str.
    """
    if type(x) is np.ndarray and x.dtype.kind == "f":
        return x
    arr = as_float_array(x, name, dtype=None)  # dtype=None: validated, dtype kept
    return arr if arr.dtype.kind == "f" else arr.astype(np.float64)


def check_bool(value, name: str) -> bool:
    """Return ``value`` as bool if it is one (Python's or NumPy's), else raise TypeError."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool; got {_describe(value)}.")
    return bool(value)


def check_instance(value, cls, name: str):
    """Return ``value`` if it is a ``cls``, else raise TypeError naming the argument and the class."""
    if not isinstance(value, cls):
        raise TypeError(f"{name} must be a {cls.__module__}.{cls.__qualname__}; got {_describe(value)}.")
    return value


# ---------------------------------------------------------------- the entry points of refimpl.sbn
OUTPUTS = ("bernoulli", "categorical")


def check_net_params(args):
    """The ``weights``, ``biases``, ``output`` and ``dtype`` of a :class:`refimpl.sbn.SigmoidBeliefNet`, checked.

    Shapes must chain (``weights[k]`` of shape ``(d_{k+1}, d_k)``, ``biases[k]`` of ``(d_{k+1},)``),
    every entry finite; arrays are converted to ``dtype`` and copied if ``copy``.
    """
    weights, biases, copy = args["weights"], args["biases"], check_bool(args["copy"], "copy")
    output = check_choice(args["output"], "output", OUTPUTS)
    dtype = check_float_dtype(args["dtype"])
    if isinstance(weights, np.ndarray) or isinstance(biases, np.ndarray):
        raise TypeError("weights and biases must be sequences (lists) of arrays, one per layer.")
    weights, biases = list(weights), list(biases)
    if len(weights) == 0:
        raise ValueError("weights must hold at least one matrix; got an empty sequence.")
    if len(biases) != len(weights):
        raise ValueError(f"biases must hold one vector per weight matrix ({len(weights)}); got {len(biases)}.")
    ws, bs = [], []
    for k, (w, b) in enumerate(zip(weights, biases, strict=True)):
        cols, note = (ws[-1].shape[0], f"to follow weights[{k - 1}] of shape {ws[-1].shape}") if ws else ("d_in", "")
        ws.append(array(w, f"weights[{k}]", dtype, ("d_out", cols), note=note))
        note = f"to match weights[{k}] of shape {ws[-1].shape}"
        bs.append(array(b, f"biases[{k}]", dtype, (ws[-1].shape[0],), note=note))
    if copy:
        ws, bs = [w.copy() for w in ws], [b.copy() for b in bs]
    check_output_classes({"output": output, "sizes": (ws[-1].shape[0],)})
    args.update(weights=ws, biases=bs, output=output, dtype=dtype)


def check_output_classes(args):
    """A categorical output (``args["output"]``) needs at least 2 classes (``args["sizes"][-1]``)."""
    if args["output"] == "categorical" and args["sizes"][-1] < 2:
        raise ValueError("a categorical output layer needs at least 2 classes.")


def check_one_hot_args(args):
    """The ``y`` (as int64, any shape), ``n_classes`` and ``dtype`` of :func:`refimpl.layers.one_hot`, checked."""
    n_classes = check_positive_int(args["n_classes"], "n_classes")
    y = check_labels(args["y"], n_classes, "y", shaped=False)
    args.update(y=y, n_classes=n_classes, dtype=check_float_dtype(args["dtype"]))


def check_state_range(args):
    """The ``d``, ``start`` and ``stop`` of :func:`refimpl.sbn.binary_states` (``stop=None``: ``2**d``), checked."""
    d, start, stop = check_positive_int(args["d"], "d"), args["start"], args["stop"]
    stop = 2**d if stop is None else stop
    integers = all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in (start, stop))
    if not (integers and 0 <= start <= stop <= 2**d):
        raise ValueError(f"start and stop must be integers with 0 <= start <= stop <= 2**d = {2**d}; "
                         f"got start={start!r}, stop={stop!r}.")
    if stop - start > 2**MAX_LAYER_BITS:
        raise ValueError(f"binary_states lists at most 2**MAX_LAYER_BITS = 2**{MAX_LAYER_BITS} states at once; "
                         f"got {stop - start} (d = {d}): ask for a range with start and stop.")
    args["d"] = d


def check_states(net, layers, name: str = "layers", all_layers: bool = False, dtype=np.float64):
    """``layers[k - 1]``, ``k = 1..m``, checked as states of ``net`` (``m = n`` if ``all_layers``, else ``m <= n``).

    Each must be binary with last axis ``d_k``, one-hot at a categorical top; returned in ``dtype``.
    """
    n = net.n_layers
    if not isinstance(layers, (list, tuple)):
        raise TypeError(f"{name} must be a list of {n} arrays, one per layer; got {type(layers).__name__}.")
    if all_layers and len(layers) != n:
        raise ValueError(f"{name} must hold {n} arrays (layers 1..{n}); got {len(layers)}.")
    if len(layers) > n:
        raise ValueError(f"{name} must hold at most {n} arrays (layers 1..m, m <= {n}); got {len(layers)}.")
    out = [array(s, f"{name}[{k - 1}]", dtype, (..., net.sizes[k]), binary=True, note=f"for d_{k} = {net.sizes[k]}")
           for k, s in enumerate(layers, start=1)]
    if len(out) == n and net.is_categorical(n):
        check_one_hot(out[-1], f"{name}[{n - 1}]")
    return out


# ---------------------------------------------------------------- the entry points of refimpl.forward
METHODS = ("mean", "probit")


def check_layer_index(net, k, name: str = "k") -> int:
    """``k`` as an int if it is a layer index ``1..n`` of ``net``."""
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"{name} must be an integer layer index in 1..{net.n_layers}; got {type(k).__name__}.")
    if not 1 <= k <= net.n_layers:
        raise ValueError(f"{name} must be a layer index in 1..{net.n_layers}; got {k}.")
    return int(k)


def layer_index(value, name, args):
    return check_layer_index(_model(args), value, name)


def layer_values(offset, binary=False):
    """Values ``(..., d_j)`` of layer ``j = k + offset`` (``k``: the argument of that name), in their own dtype."""
    def spec(value, name, args):
        model, j = _model(args), args["k"] + offset
        arr = array(value, name, None, (..., model.sizes[j]), binary=binary, note=f"for d_{j} = {model.sizes[j]}")
        return check_one_hot(arr, name) if binary and model.is_categorical(j) else arr
    return spec


def check_layer_batches(args):
    """The leading (batch) axes of ``x_k`` and ``x_prev`` of :meth:`refimpl.sbn.SigmoidBeliefNet.layer_log_prob`."""
    check_broadcast("the leading (batch) axes of x_k and x_prev", args["x_k"].shape[:-1], args["x_prev"].shape[:-1])


def check_moments_args(args):
    """The ``mu_prev`` (as float64) and ``k`` of :func:`refimpl.forward.preactivation_moments`, checked."""
    check_net(args["net"])
    k = args["k"] = check_layer_index(args["net"], args["k"])
    d = args["net"].sizes[k - 1]
    args["mu_prev"] = array(args["mu_prev"], "mu_prev", shape=(..., d), low=0, high=1, note=f"for d_{k - 1} = {d}")


def check_effective_logit_args(args):
    """The ``mean``, ``var`` (unless ``method`` is "mean") and ``method`` of
    :func:`refimpl.forward.expected_sigmoid_logit`, checked."""
    args["method"] = check_choice(args["method"], "method", METHODS)
    args["mean"] = array(args["mean"], "mean")
    if args["method"] == "probit":
        args["var"] = array(args["var"], "var", low=0)
        check_broadcast("var and mean", args["var"].shape, args["mean"].shape)


def check_parent_distribution_args(args):
    """The ``k``, ``states`` and ``probs`` of :func:`refimpl.forward.marginals_from_parent_distribution`, checked."""
    check_net(args["net"])
    k = args["k"] = check_layer_index(args["net"], args["k"])
    s = args["states"] = array(args["states"], "states", shape=("S", args["net"].sizes[k - 1]), binary=True)
    p = args["probs"] = array(args["probs"], "probs", shape=(s.shape[0],), low=0, note="to match states")
    if abs(p.sum() - 1.0) > 1e-9:
        raise ValueError(f"probs must sum to 1; got sum {p.sum():g}.")


# ---------------------------------------------------------------- the entry points of refimpl.exact
#: Widest layer whose :math:`2^{d_k}` state distribution is held in memory (2**24 float64 = 128 MiB per input).
MAX_LAYER_BITS = 24
#: Largest :math:`d_k + d_{k+1}` of one recursion step: :math:`2^{34} \approx 1.7\cdot 10^{10}` terms,
#: seconds to minutes.
MAX_PAIR_BITS = 34
#: Largest :math:`d_k + d_{k+1}` of one step of ``backend="numpy"``, which forms the whole table of
#: :math:`2^{d_k + d_{k+1}}` transition probabilities (2**22 float64 = 32 MiB).
MAX_NUMPY_PAIR_BITS = 22
#: Largest number of jointly enumerated bits (hidden units plus output) in brute-force enumeration.
MAX_BRUTE_FORCE_BITS = 22
BACKENDS = ("numba", "numpy")


def check_net(net, name: str = "net"):
    """``net`` if it is a :class:`refimpl.sbn.SigmoidBeliefNet`, else TypeError."""
    from .sbn import SigmoidBeliefNet  # here, not at the top: sbn imports this module

    return check_instance(net, SigmoidBeliefNet, name)


def check_exact_args(net, x0, backend, include_output):
    """The checked ``(x, single, weights, biases, backend)`` of exact inference, weights as float64 C arrays.

    Refuses networks whose recursion would not fit in memory (a layer wider than
    :data:`MAX_LAYER_BITS`) or finish in reasonable time (a step wider than :data:`MAX_PAIR_BITS`);
    the output layer counts only with ``include_output`` (and never a categorical one).
    """
    check_net(net)
    backend = check_choice(backend, "backend", BACKENDS)
    x, single = as_batch(x0, "x0", net.sizes[0])
    sizes, n = net.sizes, net.n_layers
    last = n if (include_output and not net.is_categorical(n)) else n - 1
    for k in range(1, last + 1):
        if sizes[k] > MAX_LAYER_BITS:
            raise ValueError(
                f"exact inference holds the distribution over all 2**d_k states of layer {k}; "
                f"d_{k} must be <= MAX_LAYER_BITS = {MAX_LAYER_BITS} (2**{MAX_LAYER_BITS} float64 = 128 MiB "
                f"per input); got d_{k} = {sizes[k]}. Use Monte Carlo or the mean pass for wider layers.")
    for k in range(1, last):
        if sizes[k] + sizes[k + 1] > MAX_PAIR_BITS:
            raise ValueError(
                f"one step of the exact recursion from layer {k} to layer {k + 1} sums 2**(d_{k} + d_{k + 1}) "
                f"= 2**{sizes[k] + sizes[k + 1]} terms; d_{k} + d_{k + 1} must be <= MAX_PAIR_BITS = "
                f"{MAX_PAIR_BITS} to finish in reasonable time; got d_{k} = {sizes[k]}, d_{k + 1} = {sizes[k + 1]}.")
    for k in range(1, last if backend == "numpy" else 1):  # exact.layer_step: the whole table
        if sizes[k] + sizes[k + 1] > MAX_NUMPY_PAIR_BITS:
            raise ValueError(
                f"backend='numpy' forms the whole table of 2**(d_{k} + d_{k + 1}) = 2**{sizes[k] + sizes[k + 1]} "
                f"transition probabilities from layer {k} to layer {k + 1}; d_{k} + d_{k + 1} must be <= "
                f"MAX_NUMPY_PAIR_BITS = {MAX_NUMPY_PAIR_BITS} for it. Use backend='numba' (the default), "
                "which never stores the table.")
    out_table = 2 ** sizes[n - 1] * sizes[n] if n > 1 and last == n - 1 else 0  # exact.output_step's table
    if backend == "numpy" and out_table > 2**MAX_NUMPY_PAIR_BITS:
        raise ValueError(
            f"backend='numpy' forms the table of layer {n}'s probabilities given every state of layer {n - 1}, "
            f"2**d_{n - 1} * d_{n} = {out_table:,} entries; at most 2**MAX_NUMPY_PAIR_BITS = "
            f"{2**MAX_NUMPY_PAIR_BITS:,} for it. Use backend='numba' (the default), which forms it in blocks.")
    weights = [np.ascontiguousarray(w, dtype=np.float64) for w in net.weights]
    biases = [np.ascontiguousarray(b, dtype=np.float64) for b in net.biases]
    return x, single, weights, biases, backend


def check_brute_force_args(net, x0):
    """The checked ``(x, single, number of joint configurations)`` of brute-force enumeration."""
    check_net(net)
    x, single = as_batch(x0, "x0", net.sizes[0])
    sizes, n = net.sizes, net.n_layers
    out_states = sizes[n] if net.is_categorical(n) else 2 ** sizes[n]
    n_configs = 2 ** sum(sizes[1:n]) * out_states
    if n_configs > 2**MAX_BRUTE_FORCE_BITS:
        raise ValueError(
            f"brute force enumerates all {n_configs} joint configurations of layers 1..{n} "
            f"(2**(d_1 + ... + d_{n - 1}) hidden times {out_states} output states); at most "
            f"2**MAX_BRUTE_FORCE_BITS = 2**{MAX_BRUTE_FORCE_BITS} are allowed. "
            f"Use exact_marginals (the layer recursion) instead.")
    return x, single, n_configs


# ---------------------------------------------------------------- the entry point of refimpl.montecarlo
def check_mc_args(net, x0, n_samples, rng, rao_blackwell, return_stderr):
    """The checked ``(x in the net's dtype, single, n_samples, rng)`` of :func:`refimpl.montecarlo.mc_marginals`."""
    check_net(net), check_bool(rao_blackwell, "rao_blackwell"), check_bool(return_stderr, "return_stderr")
    n_samples, rng = check_positive_int(n_samples, "n_samples"), check_rng(rng)
    if return_stderr and n_samples < 2:
        raise ValueError(f"n_samples must be >= 2 to estimate a standard error; got {n_samples}.")
    x, single = as_batch(x0, "x0", net.sizes[0], dtype=net.dtype)
    return x, single, n_samples, rng


# ---------------------------------------------------------------- specs for boundary(): spec(value, name, args)
def _spec(check):
    """A check ``check(value, name)`` as a spec of :func:`boundary`, which passes the other arguments too."""
    return functools.wraps(check)(lambda value, name, args: check(value, name))


rng, positive_int, nonnegative, layer_sizes, float_dtype, net, real_array, boolean = map(_spec, (
    check_rng, check_positive_int, check_nonnegative, check_layer_sizes, check_float_dtype, check_net, as_real_array,
    check_bool))


def binary_array(value, name, args):
    """An array of 0/1 values, in its own floating dtype (float64 if given as integers or bool)."""
    return check_binary(as_real_array(value, name), name)


def optional(spec):
    def maybe(value, name, args):
        return None if value is None else spec(value, name, args)
    return maybe


def choice(*options):
    def spec(value, name, args):
        return check_choice(value, name, options)
    return spec


def _model(args):
    """The network or pair the arguments belong to: ``self``, ``pair`` or ``net``."""
    return next(args[key] for key in ("self", "pair", "net") if key in args)


def pair(value, name, args):
    from .coupled import CoupledPair  # here, not at the top: coupled imports this module

    return check_instance(value, CoupledPair, name)


def images(value, name, args):
    """Binary rows ``(B, d_0)`` of the model's width in its dtype (one image ``(d_0,)`` becomes one row)."""
    model = _model(args)
    return as_batch(value, name, model.sizes[0], dtype=model.dtype)[0]


def inputs(dtype=None):
    """One binary input ``(d_0,)`` or a batch ``(B, d_0)``, kept as given, in ``dtype``: the model's if None,
    else a dtype or the name of the argument that holds it."""
    def spec(value, name, args):
        model = _model(args)
        dt = model.dtype if dtype is None else args[dtype] if isinstance(dtype, str) else dtype
        x, single = as_batch(value, name, model.sizes[0], dtype=dt)
        return x[0] if single else x
    return spec


def labels(rows=None):
    """The pair's class labels, int64, one per row of the argument ``rows`` if given."""
    def spec(value, name, args):
        n_classes = _model(args).n_classes
        if rows is None:
            return check_labels(value, n_classes, name)
        return check_labels(value, n_classes, name, args[rows].shape[0], against=rows)
    return spec


def hidden(rows):
    """The pair's hidden states ``[h^1, ..., h^{n-1}]``, each ``(B, d_k)`` binary, ``B`` the rows of ``args[rows]``."""
    def spec(value, name, args):
        model, batch = _model(args), args[rows].shape[0]
        n = model.n_layers
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"{name} must be a list of {n - 1} arrays h^1..h^{n - 1}; got {_describe(value)}.")
        if len(value) != n - 1:
            raise ValueError(f"{name} must hold {n - 1} arrays (h^1..h^{n - 1}); got {len(value)}.")
        out = [as_batch(h, f"{name}[{k - 1}]", model.sizes[k], dtype=model.dtype)[0] for k, h in enumerate(value, 1)]
        for k, h in enumerate(out, start=1):  # one state (d_k,) is a batch of one
            if h.shape[0] != batch:
                raise ValueError(f"{name}[{k - 1}] must have shape ({batch}, {model.sizes[k]}) to match {rows}; "
                                 f"got shape {h.shape}.")
        return out
    return spec


def scale(rows):
    """A term's weight >= 0: a number, or one per row of ``args[rows]`` as an array (B, 1) in the model's dtype."""
    def spec(value, name, args):
        if np.ndim(value) == 0:
            return check_nonnegative(value, name)
        return array(value, name, _model(args).dtype, (args[rows].shape[0], 1), low=0, note=f"(one per row of {rows})")
    return spec


def pair_sizes(value, name, args):
    """Layer widths of a pair: at least two, the last (the number of classes) at least 2."""
    sizes = check_layer_sizes(value, name)
    if sizes[-1] < 2:
        raise ValueError(f"{name}[-1] is the number of classes and must be >= 2; got {sizes[-1]}.")
    return sizes


def check_pair_params(args):
    """The ``params`` of :meth:`refimpl.coupled.CoupledPair.from_params`: exactly the keys, shapes and finite values
    of a pair of ``sizes`` (``tied`` or not), copied in the dtype of ``params["W1"]`` (float64 unless float32)."""
    params, sizes, tied = args["params"], args["sizes"], args["tied"]
    if not hasattr(params, "keys"):
        raise TypeError(f"params must be a dict of arrays; got {_describe(params)}.")
    n, layers = len(sizes) - 1, range(1, len(sizes))
    expected = [f"W{k}" for k in layers] + [f"b{k}" for k in layers] + [f"c{k}" for k in range(n)]
    expected += ([] if tied else [f"V{k}" for k in layers]) + ["prior"]
    missing, extra = [k for k in expected if k not in params], [k for k in params if k not in expected]
    if missing or extra:
        raise ValueError(f"params must hold exactly the keys {expected} for sizes {sizes} (tied={tied}); "
                         f"missing {missing}, unexpected {extra}.")
    w1 = np.asarray(params["W1"])
    dtype = w1.dtype if w1.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    shapes = {key: (sizes[int(key[1:])], sizes[int(key[1:]) - 1]) if key[0] in "WV" else
              (sizes[n if key == "prior" else int(key[1:])],) for key in expected}
    args["params"] = {key: array(params[key], f"params[{key!r}]", dtype, shape, note=f"for sizes {sizes}").copy()
                      for key, shape in shapes.items()}


def check_transpose_args(args):
    """The ``recogniser`` and ``gen_biases`` ``[c^0..c^{n-1}]`` of :func:`refimpl.coupled.transposed_generator`."""
    rec, biases = check_net(args["recogniser"], "recogniser"), args["gen_biases"]
    if isinstance(biases, (str, bytes, np.ndarray)) or not hasattr(biases, "__len__"):
        raise TypeError(f"gen_biases must be a list of {rec.n_layers} vectors c^0..c^{rec.n_layers - 1}; "
                        f"got {_describe(biases)}.")
    biases, n = list(biases), rec.n_layers
    if len(biases) != n:
        raise ValueError(f"gen_biases must hold {n} vectors c^0..c^{n - 1}; got {len(biases)}.")
    args["gen_biases"] = [array(c, f"gen_biases[{k}]", rec.dtype, (rec.sizes[k],), note=f"for c^{k}")
                          for k, c in enumerate(biases)]


def class_weights(rows):
    """Non-negative class weights ``(B, C)`` of the pair, each row summing to one, ``B`` the rows of ``args[rows]``."""
    def spec(value, name, args):
        w = array(value, name, shape=(args[rows].shape[0], _model(args).n_classes), low=0)
        if not np.allclose(w.sum(axis=1), 1.0, rtol=0, atol=1e-6):
            raise ValueError(f"{name} must be non-negative and each row must sum to one.")
        return w
    return spec


def nonempty_reduction(args):
    """A reduction of ``args["a"]`` over ``args["axis"]`` must sum at least one term."""
    a, axis = args["a"], args["axis"]
    axes = range(a.ndim) if axis is None else (axis if isinstance(axis, tuple) else (axis,))
    try:
        empty = any(a.shape[ax] == 0 for ax in axes)
    except (IndexError, TypeError):
        return
    if empty:
        raise ValueError(f"a must hold at least one value along axis {axis}; got shape {a.shape}.")


def sample_counts(value, name, args):
    """A non-empty list of numbers of samples, each a positive int."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{name} must be a list of numbers of samples such as [1, 10, 100]; got {_describe(value)}.")
    counts = [check_positive_int(k, f"{name}[{i}]") for i, k in enumerate(value)]
    if not counts:
        raise ValueError(f"{name} must list at least one number of samples; got an empty sequence.")
    return counts


def check_test_error_args(args):
    """The ``probs`` (N, C) and ``labels`` (N,) of :func:`refimpl.evaluation.test_error`, checked."""
    probs = args["probs"] = array(args["probs"], "probs", shape=("N", "C"), low=0, high=1)
    args["labels"] = check_labels(args["labels"], probs.shape[1], "labels", batch=probs.shape[0], against="probs")


def states(all_layers=False):
    """States ``[x^1, ..., x^m]`` of the network's layers (all ``n`` if ``all_layers``), in ``args["dtype"]`` if the
    function has that argument, else float64."""
    def spec(value, name, args):
        out = check_states(_model(args), value, name, all_layers, args.get("dtype", np.float64))
        check_broadcast(f"the leading (batch) axes of x0 and {name}", np.shape(args["x0"])[:-1],
                        *(state.shape[:-1] for state in out))
        return out
    return spec


# ---------------------------------------------------------------- the entry points of refimpl.consistency
#: Exhaustive enumeration is limited to :math:`2^{20}` joint states.
MAX_ENUMERATION_BITS = 20


def check_bits(bits: float, name: str) -> None:
    """Refuse a table of ``2**bits`` states beyond :data:`MAX_ENUMERATION_BITS`."""
    if bits > MAX_ENUMERATION_BITS + 1e-9:
        raise ValueError(
            f"{name} needs 2**{bits:g} states; exhaustive enumeration is limited to "
            f"2**{MAX_ENUMERATION_BITS} = {2 ** MAX_ENUMERATION_BITS} states (MAX_ENUMERATION_BITS). "
            "Use a smaller network."
        )


def check_rbm_args(args):
    """The ``W`` (d_h, d_v), ``b`` (d_h,) and ``c`` (d_v,) of :func:`refimpl.consistency.rbm_joint`."""
    W = args["W"] = array(args["W"], "W", shape=("d_h", "d_v"))
    args["b"] = array(args["b"], "b", shape=W.shape[:1], note=f"to match W of shape {W.shape}")
    args["c"] = array(args["c"], "c", shape=W.shape[1:], note=f"to match W of shape {W.shape}")
    check_bits(sum(W.shape), "rbm_joint with d_v + d_h units")


def check_joint_args(args):
    """The ``joint`` table (N_v, N_h) of :func:`refimpl.consistency.joint_conditionals`."""
    joint = args["joint"] = array(args["joint"], "joint", shape=("N_v", "N_h"), low=0)
    if np.any(joint.sum(axis=1) == 0) or np.any(joint.sum(axis=0) == 0):
        raise ValueError("joint must have positive row and column sums; got an all-zero row or column.")


def check_transition_args(args):
    """The ``transition`` matrix (N, N) of :func:`refimpl.consistency.stationary_distribution`, copied."""
    P = args["transition"] = array(args["transition"], "transition", shape=("N", "N"), low=0).copy()
    if P.shape[0] != P.shape[1] or P.shape[0] == 0:
        raise ValueError(f"transition must be a square (N, N) matrix; got shape {P.shape}.")
    if not np.allclose(P.sum(axis=1), 1.0, rtol=0, atol=1e-8):
        raise ValueError("transition must be row-stochastic (rows sum to 1 within 1e-8).")


def check_tables_args(args):
    """The conditional tables ``log_q`` (X, M, T) and ``log_p`` (T, X, M) of
    :func:`refimpl.consistency.consistency_from_tables`, each normalised over its conditioned states."""
    from .numerics import logsumexp  # here, not at the top: numerics imports this module

    log_q, log_p = as_float_array(args["log_q"], "log_q"), as_float_array(args["log_p"], "log_p")
    for name, arr in (("log_q", log_q), ("log_p", log_p)):
        if arr.ndim != 3 or arr.size == 0:
            raise ValueError(f"{name} must be a non-empty 3-d table; got shape {arr.shape}.")
        if np.any(np.isnan(arr)) or np.any(arr == np.inf):
            raise ValueError(f"{name} must hold log-probabilities (no NaN or +inf).")
    X, M, T = log_q.shape
    if log_p.shape != (T, X, M):
        raise ValueError(f"log_p must have shape (T, X, M) = {(T, X, M)} to match log_q; got {log_p.shape}.")
    for name, arr in (("log_q", log_q), ("log_p", log_p)):
        sums = np.exp(logsumexp(arr.reshape(arr.shape[0], -1), axis=1))
        if not np.allclose(sums, 1.0, rtol=0, atol=1e-8):
            raise ValueError(f"{name} must hold normalised conditionals; got sums in "
                             f"[{sums.min():.6g}, {sums.max():.6g}].")
    args.update(log_q=log_q, log_p=log_p)


def _check_table_bits(net, n_inputs=None) -> None:
    """Refuse a table of ``net``'s configurations (``n_inputs`` inputs, default all binary ones) that is too large."""
    sizes = net.sizes
    if n_inputs is None:
        check_bits(sizes[0], "the input layer")
        n_inputs = 2 ** sizes[0]
    bits = np.log2(n_inputs) + sum(np.log2(d) if net.is_categorical(k) else d for k, d in enumerate(sizes) if k > 0)
    check_bits(bits, f"the table of a network of sizes {sizes}")


def check_table_args(args):
    """The ``net`` and ``input_states`` (N_0, d_0) (binary, or None) of
    :func:`refimpl.consistency.log_conditional_table`."""
    net, states = check_net(args["net"]), args["input_states"]
    if states is not None:
        states = args["input_states"] = array(states, "input_states", shape=("N_0", net.sizes[0]), binary=True)
        if states.shape[0] == 0:
            raise ValueError("input_states must hold at least one state; got shape (0, ...).")
    _check_table_bits(net, None if states is None else states.shape[0])


def check_pair_nets(args):
    """A ``recogniser`` and a ``generator`` of its sizes reversed, Bernoulli output, both small enough to tabulate."""
    rec, gen = check_net(args["recogniser"], "recogniser"), check_net(args["generator"], "generator")
    if gen.sizes != rec.sizes[::-1]:
        raise ValueError(f"generator must have the recogniser's sizes reversed, {rec.sizes[::-1]}; got {gen.sizes}.")
    if gen.output != "bernoulli":
        raise ValueError(f"generator.output must be 'bernoulli' (binary x); got {gen.output!r}.")
    _check_table_bits(rec)
    top = rec.sizes[-1]
    _check_table_bits(gen, top if rec.is_categorical(rec.n_layers) else 2**top)
