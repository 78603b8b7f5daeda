"""Reading reference annotation: GFF3 or GenBank, told apart by the content.

Coordinates are 0-based and half-open (see :class:`genoseq.io.cds.CDS`);
:mod:`genoseq.genes.labels` turns the CDS into per-base training labels.
"""

from __future__ import annotations

import itertools
import os

from genoseq.io.cds import Annotation
from genoseq.io.compression import open_input, text_lines
from genoseq.io.errors import InvalidFileError
from genoseq.io.gff import parse_gff3

__all__ = ["read_cds"]


def read_cds(path: str | os.PathLike, *, include_pseudo: bool = False) -> Annotation:
    """Read CDS from GFF3 or GenBank, telling which from the content.

    Parameters
    ----------
    path : str or os.PathLike
        GFF3 or GenBank file, plain or compressed; ``-`` reads standard input.
    include_pseudo : bool
        Keep pseudogene CDS.

    Returns
    -------
    Annotation
        As :func:`genoseq.io.gff.read_gff3_cds` or
        :func:`genoseq.io.genbank.read_genbank_cds` returns it.

    Raises
    ------
    InvalidFileError
        If the file is empty, or its first line that is neither blank nor a
        ``#`` comment is neither a ``LOCUS`` line nor a 9-column GFF line (a
        ``##gff-version`` line settles it as GFF3 at once), or the file is
        malformed in the format found.

    Notes
    -----
    Line breaks may be LF, CRLF or CR (see
    :func:`genoseq.io.compression.text_lines`); a UTF-8 byte-order mark
    before the first line is skipped.
    """
    with open_input(path) as stream:
        lines = text_lines(stream)
        head: list[bytes] = []
        for number, raw in enumerate(lines, 1):
            head.append(raw)
            line = raw.strip()
            if line.startswith(b"##gff-version"):
                return parse_gff3(
                    itertools.chain(head, lines), path, include_pseudo=include_pseudo
                )
            if line.startswith(b"LOCUS"):
                data = b"".join(itertools.chain(head, lines))
                from genoseq.io.genbank import parse_genbank  # Biopython: loaded when needed

                return parse_genbank(data, path, include_pseudo=include_pseudo)
            if not line or line.startswith(b"#"):
                continue
            if line.count(b"\t") == 8:
                return parse_gff3(
                    itertools.chain(head, stream), path, include_pseudo=include_pseudo
                )
            found = line[:40].decode("utf-8", errors="replace")
            raise InvalidFileError(
                path,
                number,
                f"found {found!r}, expected GFF3 ('##gff-version 3' or 9 tab-separated columns) "
                "or GenBank ('LOCUS')",
            )
    raise InvalidFileError(path, None, "no annotation found, expected GFF3 or GenBank")
