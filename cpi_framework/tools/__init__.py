"""Operator tools under ``cloudstack-cpi COMMAND``: each module offers ``main(argv) -> int``."""
