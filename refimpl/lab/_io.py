"""The lab's one way of writing a file: atomically, so that an interruption never leaves half a file.

Every file the lab writes (checkpoints, logs, downloads, the experiment's
records and tables) goes through :func:`atomic_writer`.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager, suppress
from pathlib import Path

__all__ = ["atomic_writer", "write_text"]


@contextmanager
def atomic_writer(path, mode: str = "wb"):
    """Write ``path`` through a temporary file in the same folder, renamed into place only on success.

    Parameters
    ----------
    path : str or os.PathLike
        The file to (re)write; its folder must exist.
    mode : {"wb", "w"}, default "wb"
        Binary, or text in UTF-8.

    Yields
    ------
    file object
        The open temporary file.

    Notes
    -----
    On leaving the block the file is flushed to disk (``os.fsync``) and renamed
    over ``path`` with ``os.replace`` (atomic on POSIX and Windows), then the
    folder is synced. On any exception (Ctrl-C included) the temporary file is
    removed and ``path`` keeps its previous content.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with atomic_writer(Path(tmp) / "a.txt", "w") as f:
    ...         _ = f.write("complete")
    ...     [p.name for p in Path(tmp).iterdir()]
    ['a.txt']
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w'; got {mode!r}.")
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable; not every platform can open a folder
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:  # pragma: no cover
        return
    try:
        with suppress(OSError):
            os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_text(path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8) and print the path: how the commands report their files."""
    with atomic_writer(path, "w") as f:
        f.write(text)
    print(f"wrote {path}", flush=True)
