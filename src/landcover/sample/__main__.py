"""``python -m landcover.sample``: see :mod:`landcover.sample.cli`."""

import sys

from landcover.sample.cli import main

if __name__ == "__main__":
    sys.exit(main())
