"""Verification of OCI HTTP request signatures and minting of resource-principal session tokens.

OCI signs requests with draft-cavage HTTP signatures (rsa-sha256). GET and DELETE sign
`date (request-target) host`; POST, PUT and PATCH also sign `content-length content-type
x-content-sha256`. The `keyId` is `<tenancy>/<user>/<fingerprint>` for an API key, or `ST$<token>`
for a session token, whose `jwk` claim carries the public key that signed the request.
"""

import base64
import email.utils
import hashlib
import re
import time
import uuid
from dataclasses import dataclass

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from . import errors

# OCI rejects requests whose Date header is more than five minutes away from the service's clock.
MAX_CLOCK_SKEW_SECONDS = 300
TOKEN_ISSUER = "authService.oracle.com"
_PARAM = re.compile(r'(\w+)="([^"]*)"')
_GET_HEADERS = ["date", "(request-target)", "host"]
_BODY_HEADERS = ["content-length", "content-type", "x-content-sha256"]


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of one request."""

    tenancy_id: str
    principal_id: str
    kind: str  # "user" or "resource"
    compartment_id: str | None = None


def _parse_authorization(value: str) -> dict:
    if not value.startswith("Signature "):
        raise errors.NotAuthenticated("The Authorization header is not an OCI request signature.")
    params = dict(_PARAM.findall(value[len("Signature "):]))
    for name in ("headers", "keyId", "signature", "algorithm"):
        if name not in params:
            raise errors.NotAuthenticated(f"The Authorization header has no {name} parameter.")
    if params["algorithm"] != "rsa-sha256":
        raise errors.NotAuthenticated(f"Signature algorithm {params['algorithm']!r} is not supported; use rsa-sha256.")
    return params


def _check_date(headers, now: float) -> None:
    value = headers.get("date") or headers.get("x-date")
    if not value:
        raise errors.NotAuthenticated("The request has no Date header.")
    try:
        sent = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        raise errors.NotAuthenticated(f"The Date header {value!r} is not an HTTP date.") from None
    if abs(sent - now) > MAX_CLOCK_SKEW_SECONDS:
        raise errors.NotAuthenticated(
            f"The Date header {value!r} is more than {MAX_CLOCK_SKEW_SECONDS} seconds from the service clock; fix the client clock."
        )


def _signing_string(signed: list[str], method: str, path: str, headers) -> bytes:
    lines = []
    for name in signed:
        if name == "(request-target)":
            lines.append(f"(request-target): {method.lower()} {path}")
            continue
        value = headers.get(name)
        if value is None:
            raise errors.NotAuthenticated(f"The signed header {name!r} is missing from the request.")
        lines.append(f"{name}: {value}")
    return "\n".join(lines).encode("ascii", "replace")


class Authenticator:
    """Verify request signatures against the API keys of a world and the tokens this emulator minted."""

    def __init__(self, lookup_user_key, tenancy_exists):
        self._lookup_user_key = lookup_user_key
        self._tenancy_exists = tenancy_exists
        self._token_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def mint_resource_principal_token(
        self, tenancy_id: str, compartment_id: str, resource_id: str, public_key_pem: str, ttl_seconds: int
    ) -> str:
        """Return a resource-principal session token (RS256 JWT) whose `jwk` is the session public key."""
        try:
            session_key = serialization.load_pem_public_key(public_key_pem.encode("ascii"))
        except (ValueError, AttributeError):
            raise errors.InvalidParameter("public_key_pem is not a PEM-encoded public key.") from None
        if not isinstance(session_key, rsa.RSAPublicKey):
            raise errors.InvalidParameter("public_key_pem must be an RSA public key.")
        numbers = session_key.public_numbers()
        now = int(time.time())
        claims = {
            "iss": TOKEN_ISSUER,
            "aud": "oci",
            "sub": resource_id,
            "iat": now,
            "exp": now + int(ttl_seconds),
            "jti": str(uuid.uuid4()),
            "ptype": "resource",
            "res_type": "fnfunc",
            "res_id": resource_id,
            "res_tenant": tenancy_id,
            "res_compartment": compartment_id,
            "tenant": tenancy_id,
            "jwk": {
                "kid": "asw",
                "kty": "RSA",
                "alg": "RS256",
                "use": "sig",
                "n": _b64url_uint(numbers.n),
                "e": _b64url_uint(numbers.e),
            },
        }
        return jwt.encode(claims, self._token_key, algorithm="RS256")

    def _session_principal(self, token: str) -> tuple[Principal, object]:
        try:
            claims = jwt.decode(
                token, self._token_key.public_key(), algorithms=["RS256"], audience="oci", issuer=TOKEN_ISSUER
            )
        except jwt.ExpiredSignatureError:
            raise errors.NotAuthenticated("The session token has expired; request a new resource-principal token.") from None
        except jwt.InvalidTokenError as exc:
            raise errors.NotAuthenticated(f"The session token is invalid: {exc}.") from None
        jwk = claims.get("jwk") or {}
        try:
            public_key = rsa.RSAPublicNumbers(_b64url_to_int(jwk["e"]), _b64url_to_int(jwk["n"])).public_key()
        except (KeyError, ValueError):
            raise errors.NotAuthenticated("The session token has no usable jwk claim.") from None
        tenancy_id = claims.get("res_tenant", "")
        if not self._tenancy_exists(tenancy_id):
            raise errors.NotAuthenticated(f"The session token names an unknown tenancy {tenancy_id!r}.")
        principal = Principal(tenancy_id, claims.get("sub", ""), "resource", claims.get("res_compartment"))
        return principal, public_key

    def authenticate(self, method: str, path: str, headers, body: bytes) -> Principal:
        """Return the caller of a signed request, or raise NotAuthenticated (401)."""
        authorization = headers.get("authorization")
        if not authorization:
            raise errors.NotAuthenticated("The request is not signed: it has no Authorization header.")
        params = _parse_authorization(authorization)
        signed = params["headers"].lower().split()
        required = _GET_HEADERS + (_BODY_HEADERS if method in ("POST", "PUT", "PATCH") else [])
        missing = [name for name in required if name not in signed]
        if missing:
            raise errors.NotAuthenticated(f"The signature does not cover the required headers {missing}.")
        _check_date(headers, time.time())

        if method in ("POST", "PUT", "PATCH"):
            expected = base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")
            if headers.get("x-content-sha256") != expected:
                raise errors.NotAuthenticated("The x-content-sha256 header does not match the request body.")
            if headers.get("content-length") != str(len(body)):
                raise errors.NotAuthenticated("The content-length header does not match the request body.")

        key_id = params["keyId"]
        if key_id.startswith("ST$"):
            principal, public_key = self._session_principal(key_id[3:])
        else:
            parts = key_id.split("/")
            if len(parts) != 3:
                raise errors.NotAuthenticated(f"The keyId {key_id!r} is not <tenancy>/<user>/<fingerprint>.")
            tenancy_id, user_id, fingerprint = parts
            public_key = self._lookup_user_key(tenancy_id, user_id, fingerprint)
            if public_key is None:
                raise errors.NotAuthenticated(
                    f"No API key with fingerprint {fingerprint} is registered for user {user_id} in tenancy {tenancy_id}."
                )
            principal = Principal(tenancy_id, user_id, "user")

        try:
            signature = base64.b64decode(params["signature"], validate=True)
            public_key.verify(
                signature, _signing_string(signed, method, path, headers), padding.PKCS1v15(), hashes.SHA256()
            )
        except (InvalidSignature, ValueError):
            raise errors.NotAuthenticated("The request signature does not verify against the caller's public key.") from None
        return principal


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64url_to_int(value: str) -> int:
    padded = value + "=" * (-len(value) % 4)
    return int.from_bytes(base64.urlsafe_b64decode(padded), "big")
