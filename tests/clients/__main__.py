"""`python -m tests.clients NAME < urls`: one driver by hand (see `tests/clients/__init__.py`)."""

import sys

from tests.clients import _main

sys.exit(_main(sys.argv[1:]))
