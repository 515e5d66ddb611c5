"""The account's role and resource limits, as the management server applies them.

The role decides which commands the API key may call (``DynamicRoleBasedAPIAccessChecker``):
a root admin may call everything and has no resource limits; any other role type gets the
configured ``denied_commands`` refused with 432 and the ``resource_limits`` (falling back to the
server's ``max.account.*`` defaults) enforced where ``ResourceLimitManagerImpl.checkResourceLimit``
is called: when volumes, VMs and templates are created.
"""

from __future__ import annotations

from typing import Any

from .errors import CS_RESOURCE_ALLOCATION, CS_SERVER_API, ApiError

GIB = 2**30
ADMIN = "Admin"
ROLE_TYPES = ("Admin", "DomainAdmin", "ResourceAdmin", "User")

# Resource.ResourceType: (ordinal, name, max.account.* default). Storage types are GiB here and
# in listResourceLimits, bytes inside the server.
LIMIT_TYPES: list[tuple[int, str, int]] = [
    (0, "user_vm", 20), (1, "public_ip", 20), (2, "volume", 20), (3, "snapshot", 20), (4, "template", 20),
    (5, "project", 10), (6, "network", 20), (7, "vpc", 20), (8, "cpu", 40), (9, "memory", 40960),
    (10, "primary_storage", 200), (11, "secondary_storage", 400),
]
LIMIT_NAMES = {name for _, name, _ in LIMIT_TYPES}
STORAGE_TYPES = {"primary_storage", "secondary_storage"}


def is_root_admin(cfg: dict[str, Any]) -> bool:
    return (cfg.get("role") or {}).get("type", ADMIN) == ADMIN


# BaseCmd.USER_ERROR_MESSAGE: what a non-root-admin caller reads instead of the server's text.
USER_ERROR_MESSAGE = "Internal error executing command, please contact your system administrator"
MASKED_CODES = (530, 533, 534)


def as_seen_by_caller(cfg: dict[str, Any], err: ApiError) -> ApiError:
    """``ApiServer.handleRequest`` (4.x): for a caller that is not a root admin, the text of an
    InsufficientCapacityException (533), ResourceUnavailableException (534) or any unhandled
    exception (530, e.g. CloudRuntimeException) is replaced by ``USER_ERROR_MESSAGE``.

    Applies to what ``handleRequest`` runs: sync commands and the create phase of async ones
    (job failures are written by ``ApiAsyncJobDispatcher``, which keeps the text). A
    ServerApiException a command throws itself passes through ("catch (ServerApiException ex)
    { throw ex; }"): those carry cserrorcode 9999 here (faults too: they are the final answer).
    Parameter (431), permission (531) and limit (535) errors keep their text.
    """
    if is_root_admin(cfg) or err.errorcode not in MASKED_CODES or err.cserrorcode == CS_SERVER_API:
        return err
    return ApiError(err.errorcode, USER_ERROR_MESSAGE, err.cserrorcode, err.errorresponse, err.http_status)


def check_command_allowed(cfg: dict[str, Any], command: str) -> None:
    """The role check ``ApiServer.verifyRequest`` runs before the signature: 432 ``errorresponse``."""
    if is_root_admin(cfg):
        return
    if command in ((cfg.get("role") or {}).get("denied_commands") or []):
        raise ApiError(432, f"The API [{command}] does not exist or is not available for the account "
                            f"{cfg['account']}.", CS_SERVER_API, errorresponse=True)


def allowed_commands(cfg: dict[str, Any], commands: list[str]) -> list[str]:
    if is_root_admin(cfg):
        return list(commands)
    denied = set((cfg.get("role") or {}).get("denied_commands") or [])
    return [c for c in commands if c not in denied]


def limit(cfg: dict[str, Any], name: str) -> int:
    """The account's limit as listResourceLimits shows it (GiB for storage); -1 = unlimited."""
    if is_root_admin(cfg):
        return -1
    configured = (cfg.get("resource_limits") or {}).get(name)
    if configured is not None:
        return int(configured)
    return next(default for _, n, default in LIMIT_TYPES if n == name)


def usage(st: Any, name: str) -> int:
    """Current resource count of the one account (bytes for storage types)."""
    if name == "volume":
        return len(st.live("volume"))
    if name == "primary_storage":
        return sum(v.size for v in st.live("volume"))
    if name == "user_vm":
        return sum(1 for vm in st.live("vm") if vm.state not in ("Destroyed", "Expunging"))
    if name == "template":
        return sum(1 for t in st.live("template") if t.owned)
    if name == "secondary_storage":
        return sum(t.physicalsize for t in st.live("template") if t.owned)
    if name == "snapshot":
        return len(st.live("snapshot"))
    return 0


def check(st: Any, name: str, requested: int = 1, *, wrap: str | None = None, errorcode: int = 535) -> None:
    """``checkAccountResourceLimit``: a ResourceAllocationException, which ``ApiServer`` answers 535.

    ``wrap``/``errorcode`` model commands that catch it and rethrow (getUploadParamsForTemplate: 530).
    """
    cfg = st.cfg
    maximum = limit(cfg, name)
    if maximum < 0:
        return
    if name in STORAGE_TYPES:
        maximum *= GIB
    current = usage(st, name)
    if current + requested <= maximum:
        return
    text = (f"Maximum amount of resources of Type = '{name}', tag = 'null' for Account Name = {cfg['account']} in "
            f"Domain Id = 1 is exceeded: Account Resource Limit = {maximum}, Current Account Resource Amount = "
            f"{current}, Current Account Resource Reservation = 0, Requested Resource Amount = {requested}.")
    if wrap is not None:  # e.g. GetUploadParamsForTemplateCmd turns it into a 530
        raise ApiError(errorcode, f"{wrap}{text}", CS_SERVER_API)
    raise ApiError(errorcode, text, CS_RESOURCE_ALLOCATION)


def limit_rows(cfg: dict[str, Any], domain_id: str) -> list[dict[str, Any]]:
    """``listResourceLimits`` rows for the account, in ordinal order."""
    return [{"account": cfg["account"], "domainid": domain_id, "domain": cfg["domain"], "resourcetype": str(ordinal),
             "resourcetypename": name, "max": limit(cfg, name)} for ordinal, name, _ in LIMIT_TYPES]
