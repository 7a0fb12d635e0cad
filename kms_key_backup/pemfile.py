"""Loading of RSA wrapping key files given on the command line.

Every check raises `InvalidInputError` naming the flag, the file and the fix, before any API call.
Windows line endings (CRLF) and a missing final newline are accepted, as OpenSSL accepts them.
"""

from __future__ import annotations

import os

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa

from kms_key_backup.errors import InvalidInputError
from kms_key_backup.inputfile import read_bounded

# OCI export_key accepts wrapping public keys of these sizes only (ExportKeyDetails.public_key).
WRAPPING_KEY_BITS = (2048, 3072, 4096)

# Environment variable that contains the passphrase of an encrypted private key file, so that it never
# appears on a command line.
PASSPHRASE_ENV = "KMS_BACKUP_PRIVATE_KEY_PASSPHRASE"

_GENERATE_HINT = (
    "create a key pair with `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096 -out private.pem` "
    "and `openssl pkey -in private.pem -pubout -out public.pem`"
)


def _read_pem(path: str, flag: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            data = read_bounded(handle, flag, path, "a PEM file")
    except FileNotFoundError:
        raise InvalidInputError(flag, path, "the file does not exist; give the path of a PEM file") from None
    except IsADirectoryError:
        raise InvalidInputError(flag, path, "the path is a directory; give the path of a PEM file") from None
    except PermissionError:
        raise InvalidInputError(flag, path, "the file is not readable; check its permissions") from None

    # Normalize line endings and the final newline so CRLF files and files without a trailing
    # newline load the same way on every platform.
    text = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").strip()
    if not text.startswith(b"-----BEGIN "):
        raise InvalidInputError(
            flag, path, "the file is not PEM (no '-----BEGIN' line); give an RSA key in PEM format"
        )
    return text + b"\n"


def _check_rsa_size(key_size: int, path: str, flag: str, allowed: tuple[int, ...] | None) -> None:
    if key_size < 2048:
        raise InvalidInputError(
            flag, path, f"the RSA key has {key_size} bits, fewer than the minimum of 2048; {_GENERATE_HINT}"
        )
    if allowed is not None and key_size not in allowed:
        sizes = ", ".join(str(bits) for bits in allowed)
        raise InvalidInputError(
            flag, path, f"the RSA key has {key_size} bits, but OCI accepts only {sizes}; {_GENERATE_HINT}"
        )


def load_public_key(path: str, flag: str = "--wrapping_pubkey_file") -> rsa.RSAPublicKey:
    """Load an RSA public key of 2048, 3072 or 4096 bits from a PEM file."""
    text = _read_pem(path, flag)

    if b"PRIVATE KEY-----" in text:
        # A private key must never be sent to the service, so reject it before parsing it.
        raise InvalidInputError(
            flag,
            path,
            "the file contains a private key where a public key belongs; derive the public key with "
            f"`openssl pkey -in {path} -pubout -out public.pem` and pass that file",
        )
    try:
        key = serialization.load_pem_public_key(text)
    except ValueError:
        raise InvalidInputError(
            flag, path, f"the file is not a readable PEM public key; {_GENERATE_HINT}"
        ) from None

    if not isinstance(key, rsa.RSAPublicKey):
        raise InvalidInputError(
            flag, path, f"the file contains a {_key_kind(key)} key, but OCI wraps with RSA only; {_GENERATE_HINT}"
        )
    _check_rsa_size(key.key_size, path, flag, WRAPPING_KEY_BITS)
    return key


def load_private_key(path: str, flag: str = "--private-key") -> rsa.RSAPrivateKey:
    """Load an RSA private key of at least 2048 bits from a PEM file.

    An encrypted file is decrypted with the passphrase in the environment variable
    ``KMS_BACKUP_PRIVATE_KEY_PASSPHRASE``.
    """
    text = _read_pem(path, flag)

    if b"PRIVATE KEY-----" not in text:
        raise InvalidInputError(
            flag,
            path,
            "the file does not contain a private key; give the private half of the wrapping key pair "
            "whose public key the export used",
        )
    passphrase = os.environ.get(PASSPHRASE_ENV)
    try:
        key = serialization.load_pem_private_key(
            text, password=passphrase.encode("utf-8") if passphrase else None
        )
    except TypeError:
        # cryptography raises TypeError when the file is encrypted and no passphrase was given, or
        # when a passphrase was given for an unencrypted file.
        if passphrase:
            fix = f"the file is not encrypted; unset {PASSPHRASE_ENV}"
        else:
            fix = f"the file is encrypted; set its passphrase in the environment variable {PASSPHRASE_ENV}"
        raise InvalidInputError(flag, path, fix) from None
    except ValueError:
        raise InvalidInputError(
            flag, path, f"the file is not a readable PEM private key, or {PASSPHRASE_ENV} is wrong"
        ) from None

    if not isinstance(key, rsa.RSAPrivateKey):
        raise InvalidInputError(
            flag, path, f"the file contains a {_key_kind(key)} key, but OCI wraps with RSA only; {_GENERATE_HINT}"
        )
    _check_rsa_size(key.key_size, path, flag, None)
    return key


def public_key_pem(key: rsa.RSAPublicKey) -> str:
    """Return the SubjectPublicKeyInfo PEM text of a public key, as `export_key` expects it."""
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode(
        "ascii"
    )


def _key_kind(key: object) -> str:
    # isinstance against the abstract classes, because cryptography's concrete classes differ by version.
    kinds = (
        (ec.EllipticCurvePrivateKey, "EC"),
        (ec.EllipticCurvePublicKey, "EC"),
        (ed25519.Ed25519PrivateKey, "Ed25519"),
        (ed25519.Ed25519PublicKey, "Ed25519"),
        (dsa.DSAPrivateKey, "DSA"),
        (dsa.DSAPublicKey, "DSA"),
    )
    for cls, kind in kinds:
        if isinstance(key, cls):
            return kind
    return type(key).__name__
