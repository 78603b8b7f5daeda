"""Problems with input: the one exception family for malformed input, and its warning."""

from __future__ import annotations

import os


class InvalidFileError(ValueError):
    """Malformed or unsuitable input file.

    Parameters
    ----------
    path : str or os.PathLike
        File the problem was found in (``-`` for standard input).
    line : int or None
        1-based line number of the offending line, if known.
    message : str
        What is wrong, naming the offending value and what was expected.
    """

    def __init__(self, path: str | os.PathLike | None, line: int | None, message: str):
        self.path = "-" if path is None else os.fspath(path)
        self.line = line
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.message}"

    def __reduce__(self):
        return (type(self), (self.path, self.line, self.message))


class GenoseqWarning(UserWarning):
    """Input genoseq reads but cannot use in full (e.g. a CDS spanning the origin)."""
