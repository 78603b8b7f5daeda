"""Reading and writing sequence and annotation files."""

from genoseq.io.atomic import atomic_write
from genoseq.io.errors import InvalidFileError

__all__ = ["InvalidFileError", "atomic_write"]
