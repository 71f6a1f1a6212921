"""``python -m hiermod``: the command line (see :mod:`hiermod.cli`)."""

import sys

from hiermod.cli import main

if __name__ == "__main__":
    sys.exit(main())
