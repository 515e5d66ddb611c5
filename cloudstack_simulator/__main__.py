"""``python -m cloudstack_simulator``."""

import sys

from .cli import main

sys.exit(main())
