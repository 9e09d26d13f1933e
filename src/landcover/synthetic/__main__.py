"""``python -m landcover.synthetic``: see :mod:`landcover.synthetic.cli`."""

import sys

from landcover.synthetic.cli import main

if __name__ == "__main__":
    sys.exit(main())
