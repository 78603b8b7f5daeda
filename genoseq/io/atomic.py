"""Writing outputs safely: atomic replacement of regular files, write-through to special files.

A regular file (or a path that does not exist yet) is written to a hidden
temporary file in its own folder and renamed over it only when everything
succeeded, keeping the replaced file's mode and, where allowed, its owner;
a symlink is followed, so its target is replaced and the link stays.
Devices, FIFOs, sockets, ``/dev/stdout`` and process substitutions
(``>(cmd)``) are written through, since renaming over them would destroy
them; ``-`` is standard output.

:class:`OutputSet` does this for all outputs of a command at once: it checks
every path before any input is read (folder exists and is writable, not a
folder, not an input, no two outputs on one file), and commits the files
together at the end, so that an error or an interruption leaves none of them.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from typing import IO

from genoseq.io.errors import InvalidFileError

__all__ = ["OutputSet", "atomic_write"]

PathLike = str | os.PathLike


def _is_stream(target) -> bool:
    return hasattr(target, "write")


def _special(path: str) -> bool:
    """Whether ``path`` exists (symlinks followed) and is neither a regular file nor a folder."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def _open_kwargs(mode: str, encoding: str) -> dict:
    return {} if "b" in mode else {"encoding": encoding, "newline": "\n"}


class _Staged:
    """One regular-file output being written to a temporary file beside its target."""

    def __init__(self, path: str, mode: str, encoding: str):
        self.path = path
        self.target = os.path.realpath(path)
        folder = os.path.dirname(self.target)
        try:
            fd, self.tmp = tempfile.mkstemp(prefix=f".{os.path.basename(self.target)}.",
                                            suffix=".tmp", dir=folder)
        except OSError as error:
            raise OSError(error.errno, error.strerror, path) from None
        self.handle = os.fdopen(fd, mode, **_open_kwargs(mode, encoding))

    def finish(self) -> None:
        """Close the temporary file and give it the target's (or the usual) permissions."""
        self.handle.close()
        try:
            existing = os.stat(self.target)
        except FileNotFoundError:
            existing = None
        if existing is None:
            # mkstemp creates files 0600; give a new file the usual umask permissions.
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(self.tmp, 0o666 & ~umask)
        else:
            os.chmod(self.tmp, stat.S_IMODE(existing.st_mode))
            with contextlib.suppress(PermissionError):
                os.chown(self.tmp, existing.st_uid, existing.st_gid)

    def commit(self) -> None:
        try:
            os.replace(self.tmp, self.target)
        except OSError as error:
            raise OSError(error.errno, error.strerror, self.path) from None

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self.handle.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp)


@contextlib.contextmanager
def _user_path_in_errors(path: str) -> Iterator[None]:
    """Re-raise OSErrors of the block as naming ``path`` (never a temporary file)."""
    try:
        yield
    except OSError as error:
        if isinstance(error, BrokenPipeError) or error.filename == path:
            raise
        raise OSError(error.errno, error.strerror or str(error), path) from error


@contextlib.contextmanager
def atomic_write(path: PathLike | IO, mode: str = "w", encoding: str = "utf-8") -> Iterator[IO]:
    """Open one output for writing so that a regular file appears only when the block succeeds.

    ``-`` writes to standard output, and an open text or binary stream
    (anything with ``write``) is written to as it is. A path naming a
    device, FIFO or other special file is written through; any other path
    is written to a temporary file in the same folder, renamed over the
    target (symlinks followed) when the ``with`` block exits normally and
    removed when it raises. Errors name ``path``, never the temporary file.
    """
    if _is_stream(path):
        yield path
        path.flush()
        return
    path = os.fspath(path)
    if path == "-":
        stream = sys.stdout.buffer if "b" in mode else sys.stdout
        yield stream
        stream.flush()
        return
    with _user_path_in_errors(path):
        if _special(path):
            with open(path, mode, **_open_kwargs(mode, encoding)) as handle:
                yield handle
            return
        staged = _Staged(path, mode, encoding)
        try:
            yield staged.handle
            staged.finish()
            staged.commit()
        except BaseException:
            staged.discard()
            raise


def _identity(path: str) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


class OutputSet:
    """All output files of one command: checked up front, committed together.

    Parameters
    ----------
    outputs : mapping of str to path, stream or None
        Each output by a name of the caller's choice (the option that set it,
        say); None entries are left out. ``-`` is standard output.
    inputs : iterable of path
        Files the command reads: no output may be one of them.

    Raises
    ------
    InvalidFileError
        Naming the user's path: an output is an input, two outputs are one
        file, a folder, or lies in a folder that does not exist or cannot be
        written. Raised by the constructor, before any input is read.

    Examples
    --------
    ::

        outputs = OutputSet({"-o": "genes.gff", "-a": "genes.faa"}, inputs=["genome.fna"])
        ...  # read input, compute
        with outputs.writing():
            write_gff3(outputs.open("-o"), genes, lengths)
            write_proteins(outputs.open("-a"), genes)

    Regular files are written to temporary files and renamed over their
    targets one after another once the ``with`` block succeeded; on any
    error or interruption every temporary file is removed and no target is
    touched. Special files and standard output are written through as the
    block writes them.
    """

    def __init__(self, outputs: Mapping[str, PathLike | IO | None],
                 inputs: Iterable[PathLike | IO | None] = ()):
        self.outputs = {name: target for name, target in outputs.items() if target is not None}
        self._staged: dict[str, _Staged] = {}
        self._through: dict[str, IO] = {}
        self._last: str | None = None
        self._check(inputs)

    def _check(self, inputs) -> None:
        read = {}
        for source in inputs:
            if source is None or _is_stream(source) or os.fspath(source) == "-":
                continue
            identity = _identity(os.fspath(source))
            if identity is not None:
                read[identity] = os.fspath(source)
        seen: dict[object, str] = {}
        for target in self.outputs.values():
            if _is_stream(target):
                key: object = ("stream", id(target))
                where = "<stream>"
            elif os.fspath(target) == "-":
                key, where = "-", "-"
            else:
                where = os.fspath(target)
                key = _identity(where) or os.path.realpath(where)
                self._check_path(where, read)
            if key in seen and not (_is_stream(target) or key == "-"):
                other = "" if seen[key] == where else f" (also as {seen[key]})"
                raise InvalidFileError(where, None, f"given for two outputs{other}: each "
                                       "output needs its own file")
            seen[key] = where

    @staticmethod
    def _check_path(path: str, read: dict) -> None:
        identity = _identity(path)
        if identity is not None and identity in read:
            other = "" if read[identity] == path else f" ({read[identity]})"
            raise InvalidFileError(path, None, f"is also an input{other}: refusing to "
                                   "overwrite it")
        if os.path.isdir(path):
            raise InvalidFileError(path, None, "is a folder: expected a file name")
        if _special(path):
            return
        folder = os.path.dirname(os.path.realpath(path)) or "."
        if not os.path.isdir(folder):
            raise InvalidFileError(path, None, f"folder {os.path.dirname(path) or '.'} does "
                                   "not exist")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise InvalidFileError(path, None, f"cannot write to folder "
                                   f"{os.path.dirname(path) or '.'}")
        if os.path.exists(path) and not os.access(path, os.W_OK):
            raise InvalidFileError(path, None, "exists and is not writable")

    def __contains__(self, name: str) -> bool:
        return name in self.outputs

    def open(self, name: str, mode: str = "w", encoding: str = "utf-8") -> IO:
        """The handle output ``name`` is written through, inside :meth:`writing`."""
        target = self.outputs[name]
        if _is_stream(target):
            return target
        path = os.fspath(target)
        if path == "-":
            return sys.stdout.buffer if "b" in mode else sys.stdout
        self._last = path
        with _user_path_in_errors(path):
            if _special(path):
                handle = open(path, mode, **_open_kwargs(mode, encoding))
                self._through[name] = handle
                return handle
            staged = _Staged(path, mode, encoding)
        self._staged[name] = staged
        return staged.handle

    @contextlib.contextmanager
    def writing(self) -> Iterator[OutputSet]:
        """Write the outputs in the block; commit them all at its end, or none on error.

        An OSError of the block that names no file, or a temporary one, is
        re-raised as naming the output opened last (the one being written).
        """
        try:
            try:
                yield self
            except OSError as error:
                temporary = {staged.tmp for staged in self._staged.values()}
                if self._last is None or isinstance(error, BrokenPipeError) or (
                        error.filename is not None and error.filename not in temporary):
                    raise
                raise OSError(error.errno, error.strerror or str(error), self._last) from error
            for name, handle in self._through.items():
                with _user_path_in_errors(os.fspath(self.outputs[name])):
                    handle.close()
            for staged in self._staged.values():
                with _user_path_in_errors(staged.path):
                    staged.finish()
            for target in self.outputs.values():
                if _is_stream(target) or os.fspath(target) == "-":
                    (target if _is_stream(target) else sys.stdout).flush()
            while self._staged:
                name = next(iter(self._staged))
                self._staged[name].commit()
                del self._staged[name]
        finally:
            for staged in self._staged.values():
                staged.discard()
            self._staged.clear()
            for handle in self._through.values():
                with contextlib.suppress(OSError):
                    handle.close()
            self._through.clear()
