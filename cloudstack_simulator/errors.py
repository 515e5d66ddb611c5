"""API errors as the management server serializes them."""

from __future__ import annotations

# cserrorcode values from CSExceptionErrorCode.
CS_RUNTIME = 4250
CS_INSUFFICIENT_CAPACITY = 4325
CS_INVALID_PARAMETER = 4350
CS_PERMISSION_DENIED = 4365
CS_RESOURCE_ALLOCATION = 4370
CS_RESOURCE_UNAVAILABLE = 4380
CS_REQUEST_LIMIT = 4545
CS_SERVER_API = 9999

UNAUTHORIZED_TEXT = "unable to verify user credentials and/or request signature"


class ApiError(Exception):
    """An error answered as ``{"<cmd>response": {"uuidList": [], "errorcode", "cserrorcode", "errortext"}}``.

    ``errorcode`` is also the HTTP status.  ``cserrorcode`` is ``None`` where the server's
    path does not set it (the 401 written by ``ApiServlet`` via ``getSerializedApiError``).
    ``errorresponse`` forces the ``errorresponse`` key (unknown command, 432).
    """

    def __init__(self, errorcode: int, errortext: str, cserrorcode: int | None = CS_INVALID_PARAMETER,
                 errorresponse: bool = False, http_status: int | None = None) -> None:
        super().__init__(errortext)
        self.errorcode = errorcode
        self.errortext = errortext
        self.cserrorcode = cserrorcode
        self.errorresponse = errorresponse
        self.http_status = http_status or errorcode

    def body(self) -> dict:
        """The inner error object (without the response-name wrapper)."""
        out: dict = {"uuidList": [], "errorcode": self.errorcode}
        if self.cserrorcode is not None:
            out["cserrorcode"] = self.cserrorcode
        out["errortext"] = self.errortext
        return out


def param_error(text: str) -> ApiError:
    """``InvalidParameterValueException`` -> 431 / 4350."""
    return ApiError(431, text, CS_INVALID_PARAMETER)


def runtime_error(text: str) -> ApiError:
    """``CloudRuntimeException`` -> 530 / 4250."""
    return ApiError(530, text, CS_RUNTIME)


def in_use_error(text: str) -> ApiError:
    """Resource in use -> 536."""
    return ApiError(536, text, CS_RUNTIME)


def unauthorized() -> ApiError:
    """The servlet's 401: no ``cserrorcode`` on this path."""
    return ApiError(401, UNAUTHORIZED_TEXT, cserrorcode=None)


def invalid_uuid(name: str, value: str) -> ApiError:
    """What ``ParamProcessWorker.translateUuidToInternalId`` throws for an id that matches
    no entity (not even a removed one): 431 with this text (server behaviour, see docs)."""
    return param_error(
        f"Invalid parameter {name} value={value} due to incorrect long value format, or entity does not "
        "exist or due to incorrect parameter annotation for the field in api cmd class."
    )


def missing_param(command: str, name: str) -> ApiError:
    """``ParamProcessWorker``: the command name in the text is the lowercased response name
    without its ``response`` suffix."""
    return param_error(f"Unable to execute API command {command.lower()} due to missing parameter {name}")
