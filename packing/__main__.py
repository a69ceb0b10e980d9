"""``python -m packing``: the same command line as ``packing`` (see :mod:`packing.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
