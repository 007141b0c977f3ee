"""``python -m amikit``."""

import sys

from .cli import main

sys.exit(main())
