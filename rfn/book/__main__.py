"""``python -m rfn.book ...`` (see :mod:`rfn.book.cli`)."""

import sys

from rfn.book.cli import main

sys.exit(main())
