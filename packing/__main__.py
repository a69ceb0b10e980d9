"""``python -m packing``: the same command line as ``packing`` (see :mod:`packing.cli`)."""

import sys

if __name__ == "__main__":
    try:
        from .cli import main
    except KeyboardInterrupt:  # Ctrl-C while the toolkit is still being imported
        print("packing: error: interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(main())
