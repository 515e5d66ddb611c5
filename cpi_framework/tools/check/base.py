"""The state every ``check`` line shares: the :class:`Result` lines and the read helpers.

The checks themselves live in one mixin per concern (:mod:`.local`, :mod:`.endpoint`,
:mod:`.catalogue`, :mod:`.upload`); each builds on :class:`CheckerBase`, so a failed lookup
or a refused read becomes a line the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cpi_framework.context import CallContext

STATUSES = ("pass", "warn", "fail", "skip")
DENIED = 432  # ApiErrorCode.UNSUPPORTED_ACTION_ERROR: the role does not allow the command (ApiServer)
# Reads the CPI itself makes (services.catalog): a role without them fails deploys too.
CPI_READS = frozenset({"listZones", "listServiceOfferings", "listDiskOfferings", "listNetworks", "listOsTypes"})


@dataclass
class Result:
    check: str
    status: str
    message: str
    fix: str = ""


class CheckerBase:
    """Collects one :class:`Result` per fact; the lookups that turn a miss or a refusal into a line."""

    def __init__(self, config_path: str, cloud_config_path: str | None, *, verbose: bool = False,
                 probe_upload: bool = False) -> None:
        self.config_path = config_path
        self.probe_upload = probe_upload
        self.upload_mode: str | None = None
        """``direct`` or ``url`` once known (``auto`` resolved by the cloud's version)."""
        self.cloud_config_path = cloud_config_path
        self.verbose = verbose
        self.results: list[Result] = []
        self.ctx: CallContext | None = None
        self.capabilities: dict[str, Any] = {}
        self.config_invalid = False
        self.userdata_providers: list[str] = []  # of the cloud-config's networks, for check_guest

    def add(self, check: str, status: str, message: str, fix: str = "") -> Result:
        result = Result(check, status, message, fix)
        self.results.append(result)
        return result

    def find(self, label: str, fix: str, lookup: Callable[..., dict[str, Any]], *args: str,
             suffix: str = "") -> dict[str, Any] | None:
        """A catalogue lookup (services.catalog); a miss becomes a failed line naming what exists."""
        from cpi_framework.cloudstack import CloudStackError
        from cpi_framework.errors import CloudError

        assert self.ctx is not None
        try:
            return lookup(self.ctx, *args)
        except CloudError as exc:
            self.add(label, "fail", f"{exc}{suffix}", fix)
        except CloudStackError as exc:
            self.unreadable(label, label, exc)
        return None

    def read(self, label: str, what: str, command: str, params: dict[str, Any]) -> list[dict[str, Any]] | None:
        """``client.list``; a refused read becomes a line saying what could not be checked."""
        from cpi_framework.cloudstack import CloudStackError

        assert self.ctx is not None
        try:
            return self.ctx.client.list(command, params)
        except CloudStackError as exc:
            self.unreadable(label, what, exc)
            return None

    def unreadable(self, label: str, what: str, exc: Exception) -> Result:
        """What could not be checked, why, and the role permission that would let ``check`` read it.

        A denied read the CPI needs too is a failure (deploys fail the same way); one only
        ``check`` makes is a warning.
        """
        command = getattr(exc, "command", None) or "the command"
        if getattr(exc, "errorcode", None) == DENIED:
            needed = command in CPI_READS
            fix = f"allow {command} in the account's role (CloudStack: Roles → the account's role → Rules)"
            fix += (": the CPI calls it too, deploys fail without it" if needed
                    else " so check can verify this; the CPI itself does not need it")
            return self.add(label, "fail" if needed else "warn",
                            f"could not check {what}: the account's role may not call {command} "
                            f"(CloudStack error {DENIED})", fix)
        return self.add(label, "warn", f"could not check {what}: {exc}",
                        "run check again; if it persists, the cloud's management server log says why")

    @property
    def failed(self) -> bool:
        return any(r.status == "fail" for r in self.results)
