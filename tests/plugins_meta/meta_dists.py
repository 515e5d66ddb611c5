"""Where the plugin meta-tests' fake distributions live (imported by the tests and the conftest).

A module of its own, not ``conftest``: ``from conftest import …`` picks whichever conftest
is first on ``sys.path`` when several test directories are collected together.
"""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
HOOKS_DIST = DATA / "hooks"  # cpi-meta-hooks: one plugin per hook, each extending xen
DUP_DIST = DATA / "dup"  # cpi-meta-dup: claims the name meta-hypervisor a second time
BROKEN_DIST = DATA / "broken"  # cpi-meta-broken: an entry point whose module does not exist
