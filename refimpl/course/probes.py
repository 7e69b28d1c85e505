"""What passes between the grader and the process that runs a student's code: plain data, never objects.

A call's output goes back to the grader as JSON: numbers and arrays (as float64 bytes),
lists, tuples and dicts with string keys (:func:`encode`, and :func:`decode` on the grader's
side, which refuses anything else and anything too large). Nothing the grader receives is
unpickled, so nothing a submission sends can run code in the grader.

A *probe* makes one call and says what comes back (:data:`PROBES`): ``"value"`` returns
the function's result; ``"generator"`` (exercise 3.1) queries the network the function
returns, before and after the check changes the recogniser's matrices in place. Every probe
also returns the :func:`state` of the arguments right after the student's call, so the
grader sees an argument changed in place.
"""

from __future__ import annotations

import base64

import numpy as np

from refimpl.coupled import CoupledPair
from refimpl.sbn import SigmoidBeliefNet

__all__ = ["MAX_MESSAGE", "PROBES", "decode", "encode", "run_probe", "state"]

MAX_MESSAGE = 256 * 2**20  # bytes of one message from a grading process
_MAX_DEPTH = 8


def encode(value, depth: int = 0):
    """``value`` as JSON-ready data: arrays as ``{"a": base64, "s": shape}``, containers kept, others named.

    Examples
    --------
    >>> decode(encode({"W1": np.eye(2), "n": [1, (2.5,)]}))["n"]
    [array(1.), [array(2.5)]]
    """
    if depth > _MAX_DEPTH:
        return {"unsupported": "structure nested too deep"}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            return {"unsupported": "dict with keys that are not strings"}
        return {"d": {k: encode(v, depth + 1) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"l": [encode(v, depth + 1) for v in value]}
    if value is None:
        return None
    if isinstance(value, (np.ndarray, np.generic, int, float, bool)):
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            return {"unsupported": f"array of {np.asarray(value).dtype}"}
        return {"a": base64.b64encode(arr.tobytes(order="C")).decode("ascii"), "s": list(arr.shape)}
    return {"unsupported": type(value).__name__}


def decode(data, depth: int = 0):
    """The grader's side of :func:`encode`: arrays, lists and dicts; ``ValueError`` for anything else."""
    if depth > _MAX_DEPTH + 1:
        raise ValueError("nested too deep")
    if data is None:
        return None
    if not isinstance(data, dict) or len(data) not in (1, 2):
        raise ValueError(f"not an encoded value: {type(data).__name__}")
    if "a" in data:
        shape = data.get("s")
        if not (isinstance(shape, list) and all(isinstance(n, int) and n >= 0 for n in shape)):
            raise ValueError("bad array shape")
        raw = base64.b64decode(data["a"], validate=True)
        if len(raw) != 8 * int(np.prod(shape, dtype=np.int64)):
            raise ValueError("array data does not match its shape")
        return np.frombuffer(raw, dtype=np.float64).reshape(shape).copy()
    if "l" in data and isinstance(data["l"], list):
        return [decode(v, depth + 1) for v in data["l"]]
    if "d" in data and isinstance(data["d"], dict):
        return {str(k): decode(v, depth + 1) for k, v in data["d"].items()}
    if "unsupported" in data and isinstance(data["unsupported"], str):
        return {"unsupported": data["unsupported"][:80]}
    raise ValueError("not an encoded value")


def state(value):
    """A plain picture of an argument (arrays, a network's or a pair's parameters), to tell whether it changed."""
    if isinstance(value, CoupledPair):
        return {"params": {k: np.array(v) for k, v in value.params.items()}}
    if isinstance(value, SigmoidBeliefNet):
        return {"weights": [np.array(w) for w in value.weights], "biases": [np.array(b) for b in value.biases]}
    if isinstance(value, np.random.Generator):
        return None
    if isinstance(value, (list, tuple)):
        return [state(v) for v in value]
    if isinstance(value, dict):
        return {k: state(v) for k, v in value.items()}
    if isinstance(value, (np.ndarray, np.generic, int, float)):
        return np.array(value, dtype=np.float64)
    return None


def _value(func, args, extra):
    out = func(*args)
    return out, state(args)


def _generator(func, args, extra):
    """Exercise 3.1: query the returned network, change the recogniser in place, query it again."""
    queries, joint, deltas = extra
    rec = args[0]
    gen = func(*args)
    after_call = state(args)
    if not isinstance(gen, SigmoidBeliefNet):
        return {"type": type(gen).__name__}, after_call
    out = {"type": "SigmoidBeliefNet", "sizes": list(gen.sizes)}
    if list(gen.sizes) != list(reversed(rec.sizes)):
        return out, after_call
    out["layers"] = [gen.layer_log_prob(j, t, u) for j, t, u in queries]
    out["joint"] = gen.log_prob(joint[0], list(joint[1]))
    for w, d in zip(rec.weights, deltas, strict=True):
        w += d  # one step of learning on the recogniser's matrices, in place
    out["after"] = [gen.layer_log_prob(j, t, u) for j, t, u in queries]
    return out, after_call


#: probe name -> ``probe(func, args, extra) -> (output, state of args after the call)``
PROBES = {"value": _value, "generator": _generator}


def run_probe(func, call) -> tuple:
    """Make ``call`` (a :class:`~refimpl.course.registry.Call`) on ``func``; return (output, argument state)."""
    return PROBES[call.probe](func, call.args, call.extra)
