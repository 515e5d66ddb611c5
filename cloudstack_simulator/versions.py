"""CloudStack server generations: what the simulator does differently per release, in one table.

``cloudstack_version`` in the config (``"4.5.2"``, ``"4.11.3.0"``, ...) selects the behaviour: every
row below says since which release something holds, and where the server source says so. Nothing
else in the simulator compares version numbers; handlers ask ``ctx.profile.has(NAME)``.

The bundled ``examples/cloudstack-<release>.yml`` name one profile per generation the project
supports (:data:`PROFILES`); any version from 4.5 on is accepted, a version between two rows gets
the rows up to it. Evidence is the ``apache/cloudstack`` source (``@APICommand(since=...)``,
``@Param(since=...)``, the method named); "modelled" marks a boundary that was not read in the
release itself (docs/simulator.md, "Server versions", lists them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["COMMANDS_SINCE", "PARAMS_SINCE", "RULES", "CAPABILITIES_SINCE", "PROFILES", "Profile",
           "parse_version", "OLDEST"]

Version = tuple[int, ...]


@dataclass(frozen=True)
class Since:
    release: str
    evidence: str

    @property
    def version(self) -> Version:
        return parse_version(self.release)


# -- commands that do not exist before a release (ApiServer answers them as unknown) ----------------------
COMMANDS_SINCE: dict[str, Since] = {
    "getUploadParamsForTemplate": Since("4.6", "GetUploadParamsForTemplateCmd: @APICommand(since = \"4.6.0\")"),
    "changeOfferingForVolume": Since("4.17", "ChangeOfferingForVolumeCmd: @APICommand(since = \"4.17\")"),
}

# -- parameters a release does not know: ApiDispatcher/ParamProcessWorker only reads the fields the
# command class declares, so an unknown parameter is silently ignored (never an error) ----------------------
PARAMS_SINCE: dict[tuple[str, str], Since] = {
    ("deployVirtualMachine", "keypairs"): Since(
        "4.17", "DeployVMCmd: absent from the 4.15/4.16 class (read), present since (modelled: 4.17)"),
    ("destroyVirtualMachine", "volumeids"): Since(
        "4.12", "DestroyVMCmd: @Parameter(name = ApiConstants.VOLUME_IDS, since = \"4.12.0\")"),
}

# -- behaviour rules ----------------------------------------------------------------------------------------
RULES: dict[str, Since] = {
    # 4.5-4.10: ApiServer.verifyRequest throws ServerApiException(UNSUPPORTED_ACTION_ERROR, "The given command
    # does not exist or it is not available for user") -> 432, errorresponse, cserrorcode 9999. From 4.11
    # (commit 9988c26; apache/cloudstack PR #2498 quotes both answers) it logs and returns false -> 401.
    "unknown_command_is_401": Since("4.11", "ApiServer.verifyRequest (commit 9988c26, PR #2498)"),
    # Up to 4.11 ApiServer parses expires with SimpleDateFormat("yyyy-MM-dd'T'HH:mm:ssZ") (+hhmm or GMT+hh:mm
    # only; PR #2867/#2893 of Oct 2018 says so of 4.11.1); later DateUtil.parseTZDateString tries ISO_OFFSET_DATE_TIME,
    # ...ssZ, ISO_INSTANT, six-digit fractions and ...ss'Z'Z. Release of the switch: modelled as 4.12.
    "expires_iso_formats": Since("4.12", "ApiServer.verifyRequest + DateUtil.parseTZDateString (modelled)"),
    # Dynamic roles (roles/role_permissions tables, DynamicRoleBasedAPIAccessChecker) arrived in 4.9;
    # listCapabilities reports dynamicrolesenabled from then on.
    "dynamic_roles": Since("4.9", "DynamicRoleBasedAPIAccessChecker; CapabilitiesResponse.dynamicrolesenabled"),
    # VolumeApiServiceImpl.resizeVolume before 4.17 (4.13-4.16 read): a size without a new offering needs a
    # customisable current offering ("To change a volume's size without providing a new disk offering ...");
    # a size with a fixed new offering is refused ("You cannnot pass in a custom disk size to a non-custom
    # disk offering.", sic). 4.17 reworked it beside changeOfferingForVolume (size strictness).
    "resize_volume_417": Since("4.17", "VolumeApiServiceImpl.resizeVolume (4.13-4.16 read; 4.17 rework)"),
}

# -- listCapabilities fields that appear with a release (CapabilitiesResponse @Param(since=...)) ----------
CAPABILITIES_SINCE: dict[str, Since] = {
    "allowuserviewdestroyedvm": Since("4.6", "CapabilitiesResponse: @Param(since = \"4.6.0\")"),
    "allowuserexpungerecovervm": Since("4.6", "CapabilitiesResponse: @Param(since = \"4.6.0\")"),
    "dynamicrolesenabled": RULES["dynamic_roles"],
    "allowuserexpungerecovervolume": Since("4.14", "CapabilitiesResponse: @Param(since = \"4.14.0\")"),
    "defaultuipagesize": Since("4.15.2", "CapabilitiesResponse: @Param(since = \"4.15.2\")"),
    "instancesstatsretentiontime": Since("4.18", "CapabilitiesResponse: @Param(since = \"4.18.0\")"),
    "instancesdisksstatsretentiontime": Since("4.18", "CapabilitiesResponse: @Param(since = \"4.18.0\")"),
    "allowuserforcestopvm": Since("4.20", "CapabilitiesResponse: @Param(since = \"4.20.0\")"),
}

PROFILES: dict[str, str] = {
    "4.5": "4.5.2", "4.7": "4.7.1", "4.9": "4.9.3.0", "4.11": "4.11.3.0",
    "4.15": "4.15.2.0", "4.18": "4.18.2.0", "4.19": "4.19.1.0", "4.20": "4.20.1.0",
}
"""The generations the project supports and tests: profile name -> the version string the bundled
example reports (``examples/cloudstack-<name>.yml``)."""

OLDEST = "4.5"
_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[-.].*)?$")


def parse_version(text: str) -> Version:
    """``"4.11.3.0"`` -> ``(4, 11, 3, 0)``; a suffix such as ``-SNAPSHOT`` is ignored."""
    m = _VERSION.match(str(text).strip())
    if not m:
        raise ValueError(f"not a CloudStack version: {text!r} (expected e.g. 4.19.1.0)")
    return tuple(int(g) for g in m.groups() if g is not None)


class Profile:
    """The rules of one server version."""

    def __init__(self, version: str) -> None:
        self.text = str(version)
        self.version = parse_version(version)
        if self.version[:2] < parse_version(OLDEST):
            raise ValueError(f"cloudstack_version {version!r} is older than the oldest modelled release {OLDEST}")

    def _since(self, since: Since) -> bool:
        return self.version >= since.version

    def has(self, rule: str) -> bool:
        return self._since(RULES[rule])

    def command_exists(self, command: str) -> bool:
        since = COMMANDS_SINCE.get(command)
        return since is None or self._since(since)

    def knows_param(self, command: str, name: str) -> bool:
        since = PARAMS_SINCE.get((command, name.lower()))
        return since is None or self._since(since)

    def capability(self, name: str) -> bool:
        since = CAPABILITIES_SINCE.get(name)
        return since is None or self._since(since)
