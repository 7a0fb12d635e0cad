"""Local unwrap and re-wrap of OCI Vault key export blobs.

Only `inspect` and `restore` use this module; `sync` never unwraps (it passes the blob from
`export_key` unchanged to `import_key`). OCI Vault defines two wrapping algorithms:

- ``RSA_OAEP_AES_SHA256``: ``RSA-OAEP(wrapping public key)(K) || AES-KWP(K, material)``. The first
  part is exactly as long as the RSA modulus; K is a fresh AES key (OCI uses 256 bits); AES-KWP is
  the AES key wrap with padding of RFC 5649.
- ``RSA_OAEP_SHA256``: ``RSA-OAEP(wrapping public key)(material)``, which fits AES material only.

RSA-OAEP uses SHA-256 for both the hash and MGF1, with an empty label (RFC 8017, section 7.1).
Key material is the raw key for AES and the private key as PKCS#8 DER for RSA.

Input checks raise `ValueError` naming the parameter. A failed unwrap raises `UnwrapError` with one
fixed message, whatever step failed, so the error reveals nothing about the blob.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.keywrap import (
    InvalidUnwrap,
    aes_key_unwrap_with_padding,
    aes_key_wrap_with_padding,
)

RSA_OAEP_AES_SHA256 = "RSA_OAEP_AES_SHA256"
RSA_OAEP_SHA256 = "RSA_OAEP_SHA256"
WRAPPING_ALGORITHMS = (RSA_OAEP_AES_SHA256, RSA_OAEP_SHA256)

# OCI accepts RSA wrapping keys of 2048, 3072 and 4096 bits for export.
MIN_RSA_BITS = 2048

# Length of the temporary AES key K that `wrap` generates, as OCI does for its exports.
TEMPORARY_AES_KEY_BYTES = 32

# Label of the key check value (see `key_check_value`). Changing it changes every check value
# already printed, so it is versioned.
KEY_CHECK_VALUE_LABEL = b"kms-key-backup key check value v1"
KEY_CHECK_VALUE_BYTES = 16


class UnwrapError(Exception):
    """Unwrap of a blob failed: wrong private key, wrong algorithm or a damaged blob."""

    def __init__(self) -> None:
        super().__init__(
            "unwrap failed: the blob was not wrapped for this private key with this algorithm, "
            "or it is damaged"
        )


def _oaep() -> padding.OAEP:
    return padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def _check_algorithm(algorithm: str) -> None:
    if algorithm not in WRAPPING_ALGORITHMS:
        raise ValueError(
            f"algorithm: invalid value {algorithm!r}; use one of {', '.join(WRAPPING_ALGORITHMS)}"
        )


def _check_rsa_key(key: object, name: str, expected: type) -> None:
    if not isinstance(key, expected):
        kind = "RSA private key" if expected is rsa.RSAPrivateKey else "RSA public key"
        raise ValueError(f"{name}: expected an {kind}, got {type(key).__name__}")
    if key.key_size < MIN_RSA_BITS:
        raise ValueError(
            f"{name}: RSA key of {key.key_size} bits is too small; use at least {MIN_RSA_BITS} bits"
        )


def unwrap(blob: bytes, private_key: rsa.RSAPrivateKey, algorithm: str = RSA_OAEP_AES_SHA256) -> bytes:
    """Unwrap an OCI export blob with the private half of the wrapping key; return the material.

    The caller owns the returned material: keep it in memory only and drop it after use.
    """
    _check_algorithm(algorithm)
    _check_rsa_key(private_key, "private_key", rsa.RSAPrivateKey)
    if not isinstance(blob, (bytes, bytearray)):
        raise ValueError(f"blob: expected bytes, got {type(blob).__name__}")

    modulus_bytes = private_key.key_size // 8
    if algorithm == RSA_OAEP_SHA256:
        if len(blob) != modulus_bytes:
            raise ValueError(
                f"blob: {len(blob)} bytes, but {algorithm} with a {private_key.key_size}-bit key "
                f"makes exactly {modulus_bytes} bytes; check the wrapping algorithm and the private key"
            )
        try:
            return private_key.decrypt(bytes(blob), _oaep())
        except ValueError:
            raise UnwrapError() from None

    # RFC 5649 output is at least 16 bytes: the 8-byte integrity check block and one 8-byte block.
    if len(blob) < modulus_bytes + 16:
        raise ValueError(
            f"blob: {len(blob)} bytes is too short for {algorithm} with a {private_key.key_size}-bit key "
            f"(at least {modulus_bytes + 16} bytes); check the wrapping algorithm and the private key"
        )
    try:
        temporary_key = private_key.decrypt(bytes(blob[:modulus_bytes]), _oaep())
        return aes_key_unwrap_with_padding(temporary_key, bytes(blob[modulus_bytes:]))
    except (ValueError, InvalidUnwrap):
        # Both a failed OAEP decryption and a failed integrity check end here, with one message.
        raise UnwrapError() from None


def wrap(material: bytes, public_key: rsa.RSAPublicKey, algorithm: str = RSA_OAEP_AES_SHA256) -> bytes:
    """Wrap key material for import into a vault whose wrapping key is `public_key`."""
    _check_algorithm(algorithm)
    _check_rsa_key(public_key, "public_key", rsa.RSAPublicKey)
    if not isinstance(material, (bytes, bytearray)) or not material:
        raise ValueError("material: expected non-empty bytes")

    if algorithm == RSA_OAEP_SHA256:
        # OAEP with SHA-256 carries at most k - 2*32 - 2 bytes (RFC 8017, section 7.1.1).
        limit = public_key.key_size // 8 - 2 * 32 - 2
        if len(material) > limit:
            raise ValueError(
                f"material: {len(material)} bytes do not fit {algorithm} with a "
                f"{public_key.key_size}-bit key (at most {limit}); use {RSA_OAEP_AES_SHA256}"
            )
        return public_key.encrypt(bytes(material), _oaep())

    temporary_key = os.urandom(TEMPORARY_AES_KEY_BYTES)
    return public_key.encrypt(temporary_key, _oaep()) + aes_key_wrap_with_padding(temporary_key, bytes(material))


def key_check_value(material: bytes) -> str:
    """Return the key check value of AES key material, as lowercase hex.

    The value is the first 16 bytes of HMAC-SHA-256 keyed by the material over the fixed label
    ``kms-key-backup key check value v1``. It identifies the material without revealing it, so it may
    be printed and stored next to the wrapped blob.
    """
    if not isinstance(material, (bytes, bytearray)) or not material:
        raise ValueError("material: expected non-empty bytes")
    digest = hmac.new(bytes(material), KEY_CHECK_VALUE_LABEL, hashlib.sha256).digest()
    return digest[:KEY_CHECK_VALUE_BYTES].hex()


def public_key_fingerprint(public_key: rsa.RSAPublicKey) -> str:
    """Return the SHA-256 of a public key's DER SubjectPublicKeyInfo, as lowercase hex."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def material_fingerprint(material: bytes, algorithm: str) -> str:
    """Return the fingerprint that identifies key material of a key shape algorithm.

    AES: the key check value. RSA: the public key fingerprint of the PKCS#8 private key, which equals
    the fingerprint of the key version's ``public_key`` as the vault reports it.
    """
    if algorithm == "AES":
        return key_check_value(material)
    if algorithm == "RSA":
        try:
            private_key = serialization.load_der_private_key(bytes(material), password=None)
        except (ValueError, TypeError):
            raise UnwrapError() from None
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise UnwrapError()
        return public_key_fingerprint(private_key.public_key())
    raise ValueError(f"algorithm: key shape algorithm {algorithm!r} has no fingerprint; expected AES or RSA")


def fingerprints_equal(first: str, second: str) -> bool:
    """Compare two fingerprints in constant time, because they are derived from key material."""
    return hmac.compare_digest(first.lower().encode("utf-8"), second.lower().encode("utf-8"))
