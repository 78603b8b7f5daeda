"""Open input files and standard input, decompressing by magic bytes.

The compression of an input is read from its first bytes, never from its
name: a gzip file called ``genome.fa`` and a plain file called ``genome.fa.gz``
are both read correctly. Decompression errors (a truncated download, a damaged
file) surface as :class:`~genoseq.io.errors.InvalidFileError` when the data is
read, not as ``EOFError`` or ``zlib.error`` tracebacks.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import sys
import zlib
from collections.abc import Iterator
from typing import BinaryIO

from genoseq.io.errors import InvalidFileError

try:
    from isal import igzip as _gzip_module
    from isal.isal_zlib import error as _isal_error

    _DECOMPRESSION_ERRORS: tuple[type[BaseException], ...] = (
        OSError,
        zlib.error,
        lzma.LZMAError,
        _isal_error,
    )
except ImportError:
    _gzip_module = gzip
    _DECOMPRESSION_ERRORS = (OSError, zlib.error, lzma.LZMAError)

_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
)
_MAGIC_LENGTH = max(len(magic) for magic, _ in _MAGIC)

UTF8_BOM = b"\xef\xbb\xbf"
"""UTF-8 byte-order mark, which some editors write at the start of text files;
the text readers skip it."""


def text_lines(stream: BinaryIO) -> Iterator[bytes]:
    """Lines of a binary text stream, each with its line break, for line-based formats.

    A UTF-8 byte-order mark before the first line is skipped. A file whose
    first line break is a lone ``\\r`` (classic Mac OS) is split at every
    ``\\r`` (and ``\\r\\n``); otherwise lines end at ``\\n``, as when iterating
    the stream.
    """
    first = stream.readline().removeprefix(UTF8_BOM)
    cr = first.find(b"\r")
    if cr < 0 or first[cr + 1 : cr + 2] == b"\n":
        if first:
            yield first
        yield from stream
        return
    yield from first.splitlines(keepends=True)
    for line in stream:
        yield from line.splitlines(keepends=True)


def detect_compression(head: bytes) -> str | None:
    """Name the compression format whose magic number starts ``head``.

    Parameters
    ----------
    head : bytes
        The first bytes of a file (at least 6 to recognise xz).

    Returns
    -------
    str or None
        ``"gzip"``, ``"bz2"``, ``"xz"``, or None for uncompressed data.
    """
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


def open_input(source: str | os.PathLike | BinaryIO) -> io.BufferedIOBase:
    """Open a file, standard input or a binary stream for reading, decompressed.

    Parameters
    ----------
    source : str, os.PathLike or binary file object
        Path to read; ``"-"`` reads ``sys.stdin.buffer``. An already open
        binary stream is read from its current position and is not closed
        when the returned stream is closed.

    Returns
    -------
    io.BufferedIOBase
        Binary stream of the decompressed bytes (gzip, including multi-member
        gzip such as bgzip, bz2 and xz are recognised by their magic bytes).
        Its ``name`` is the path, ``"-"`` for standard input, or the open
        stream's own name (``"<stream>"`` if it has none), for messages.
        Close it, or use it in a ``with`` block, when done.

    Raises
    ------
    TypeError
        If ``source`` is a text stream.
    InvalidFileError
        If the file does not exist, is a directory or cannot be read; later,
        from ``read``, if a compressed stream is truncated or corrupt.
    """
    if isinstance(source, io.TextIOBase):
        raise TypeError(
            "open_input needs a binary stream (open files with 'rb'), got a text stream"
        )
    if not isinstance(source, (str, os.PathLike)):
        name = getattr(source, "name", None)
        return _sniffed(source, name if isinstance(name, str) else "<stream>", owned=False)
    name = os.fspath(source)
    if name == "-":
        return _sniffed(sys.stdin.buffer, "-", owned=False)
    try:
        handle = open(name, "rb")
    except FileNotFoundError:
        raise InvalidFileError(name, None, "no such file") from None
    except IsADirectoryError:
        raise InvalidFileError(name, None, "is a directory, expected a file") from None
    except PermissionError:
        raise InvalidFileError(name, None, "permission denied, expected a readable file") from None
    return _sniffed(handle, name, owned=True)


def _sniffed(stream: BinaryIO, name: str, owned: bool) -> io.BufferedIOBase:
    """Wrap ``stream`` according to its magic bytes, without losing any byte.

    A seekable stream is rewound after reading its first bytes; from a pipe
    they are kept and served again first. ``owned`` streams are closed with
    the result.
    """
    if stream.seekable():
        start = stream.tell()
        head = stream.read(_MAGIC_LENGTH)
        stream.seek(start)
        prefix = b""
    else:
        head = prefix = stream.read(_MAGIC_LENGTH)
    compression = detect_compression(head)
    if compression is None:
        if owned and not prefix:
            return stream
        return io.BufferedReader(
            _GuardedReader(stream, name, prefix=prefix, owned=stream if owned else None)
        )
    raw = _GuardedReader(stream, name, prefix=prefix) if prefix else stream
    if compression == "gzip":
        decoder = _gzip_module.GzipFile(fileobj=raw, mode="rb")
    elif compression == "bz2":
        decoder = bz2.BZ2File(raw, mode="rb")
    else:
        decoder = lzma.LZMAFile(raw, mode="rb")
    guarded = _GuardedReader(
        decoder, name, compression=compression, owned=stream if owned else None
    )
    return io.BufferedReader(guarded)


class _GuardedReader(io.RawIOBase):
    """Raw stream over a source that turns decompression errors into InvalidFileError.

    ``prefix`` holds bytes already taken from a non-seekable source to sniff
    it; they are served first. Closing closes ``source`` only when it is a
    decoder made here, plus ``owned`` (the file under the decoder) if given.
    """

    def __init__(
        self,
        source: BinaryIO,
        name: str,
        *,
        prefix: bytes = b"",
        compression: str | None = None,
        owned: BinaryIO | None = None,
    ):
        super().__init__()
        self._source = source
        self._prefix = prefix
        self._compression = compression
        self._owned = owned
        self.name = name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        if self._prefix:
            count = min(len(self._prefix), len(view))
            view[:count] = self._prefix[:count]
            self._prefix = self._prefix[count:]
            return count
        if self._compression is None:
            return self._source.readinto(view)
        try:
            return self._source.readinto(view)
        except EOFError:
            raise InvalidFileError(
                self.name,
                None,
                f"truncated {self._compression} file: the data ends before the "
                "end-of-stream marker, expected a complete file",
            ) from None
        except _DECOMPRESSION_ERRORS as error:
            raise InvalidFileError(
                self.name, None, f"corrupt {self._compression} data ({error})"
            ) from None

    def close(self) -> None:
        if not self.closed:
            if self._compression is not None:
                self._source.close()
            if self._owned is not None:
                self._owned.close()
        super().close()
