"""landcover: helpers for the book *Land-cover mapping of Europe from Sentinel-2*.

Importing the package prepares a self-contained, offline environment (see
:func:`landcover.config.setup_environment`); the chapters import it first.
"""

from landcover.config import setup_environment as _setup_environment

_setup_environment()

__version__ = "0.1.0"
