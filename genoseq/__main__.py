"""``python -m genoseq``: the genoseq command line."""

import sys

from genoseq.cli import main

sys.exit(main())
