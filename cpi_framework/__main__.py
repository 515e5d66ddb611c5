"""``python -m cpi_framework --config PATH``: the same entry point as ``cloudstack-cpi``."""

from cpi_framework.cli import main

raise SystemExit(main())
