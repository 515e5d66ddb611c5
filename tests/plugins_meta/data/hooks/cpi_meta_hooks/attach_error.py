from cpi_framework.hookspecs import hookimpl
from cpi_meta_hooks import spec

MARKER = "meta hot-plug glitch"


@hookimpl
def cpi_hypervisor():
    return spec("meta-attach-error")


@hookimpl
def cpi_attach_error_is_transient(error):
    return True if MARKER in (getattr(error, "errortext", None) or str(error)) else None
