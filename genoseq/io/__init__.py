"""Reading and writing sequence and annotation files.

The GenBank reader and writer (Biopython, ~0.2 s to import) load on first use.
"""

from genoseq.io.annotation import read_cds
from genoseq.io.atomic import atomic_write
from genoseq.io.bedgraph import write_bedgraph
from genoseq.io.cds import CDS, Annotation
from genoseq.io.compression import open_input
from genoseq.io.errors import GenoseqWarning, InvalidFileError
from genoseq.io.fasta import SequenceRecord, read_fasta, read_fastq, read_sequences
from genoseq.io.genes import (
    write_candidates,
    write_gene_sequences,
    write_proteins,
    write_sco,
    write_start_file,
)
from genoseq.io.gff import read_gff3_cds, write_gff3
from genoseq.io.training import read_training_file, write_training_file

#: Names served by genoseq.io.genbank, imported on first use (PEP 562).
_GENBANK_NAMES = ("read_genbank_cds", "write_genbank")

__all__ = [
    "CDS",
    "Annotation",
    "GenoseqWarning",
    "InvalidFileError",
    "SequenceRecord",
    "atomic_write",
    "open_input",
    "read_cds",
    "read_fasta",
    "read_fastq",
    "read_genbank_cds",
    "read_gff3_cds",
    "read_sequences",
    "read_training_file",
    "write_bedgraph",
    "write_candidates",
    "write_gene_sequences",
    "write_genbank",
    "write_gff3",
    "write_proteins",
    "write_sco",
    "write_start_file",
    "write_training_file",
]


def __getattr__(name: str):
    if name in _GENBANK_NAMES:
        from genoseq.io import genbank

        return getattr(genbank, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
