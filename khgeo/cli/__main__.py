"""``python -m khgeo.cli``: the same as the ``khgeo`` command."""

import sys

from khgeo.cli import main

sys.exit(main())
