"""OCI service errors as the emulator returns them.

Each class carries the HTTP status and the OCI error code that the real service uses for that
failure, so the `oci` SDK raises `oci.exceptions.ServiceError` with the same `status` and `code`
that a caller would see against a real vault.
"""


class ServiceError(Exception):
    """An error answered to the caller as `{"code": ..., "message": ...}`."""

    status = 500
    code = "InternalServerError"

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code

    def to_body(self) -> dict:
        return {"code": self.code, "message": self.message}


class InvalidParameter(ServiceError):
    status = 400
    code = "InvalidParameter"


class MissingParameter(ServiceError):
    status = 400
    code = "MissingParameter"


class CannotParseRequest(ServiceError):
    status = 400
    code = "CannotParseRequest"


class NotAuthenticated(ServiceError):
    status = 401
    code = "NotAuthenticated"


class NotAuthorizedOrNotFound(ServiceError):
    status = 404
    code = "NotAuthorizedOrNotFound"


class IncorrectState(ServiceError):
    status = 409
    code = "IncorrectState"


class InvalidatedRetryToken(ServiceError):
    status = 409
    code = "InvalidatedRetryToken"


class NoEtagMatch(ServiceError):
    status = 412
    code = "NoEtagMatch"


class TooManyRequests(ServiceError):
    status = 429
    code = "TooManyRequests"


class NotImplementedByEmulator(ServiceError):
    status = 501
    code = "NotImplemented"
