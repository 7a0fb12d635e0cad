"""Key material, OCI's export/import wrapping format, and the crypto operations.

Wrapping format (OCI "Importing keys" and ExportKey documentation):

- `RSA_OAEP_AES_SHA256`: RSA-OAEP (SHA-256, MGF1 with SHA-256, empty label) of a fresh 32-byte AES
  key K, exactly one modulus long, followed by the RFC 5649 AES key wrap with padding of the key
  material under K.
- `RSA_OAEP_SHA256`: RSA-OAEP (same parameters) of the key material itself, so it only fits material
  shorter than the modulus minus 66 bytes.

Key material is the raw bytes of an AES key, and the PKCS#8 DER encoding of an RSA private key.
"""

import base64
import functools
import hashlib
import hmac
import os
import threading

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import (
    InvalidUnwrap,
    aes_key_unwrap_with_padding,
    aes_key_wrap_with_padding,
)

from . import errors

WRAPPING_KEY_BITS = 4096
OAEP_SHA256_OVERHEAD = 2 * 32 + 2
CURVES = {"NIST_P256": (ec.SECP256R1, 32), "NIST_P384": (ec.SECP384R1, 48), "NIST_P521": (ec.SECP521R1, 66)}
AES_LENGTHS = (16, 24, 32)
RSA_LENGTHS = (256, 384, 512)


def _oaep() -> padding.OAEP:
    return padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def new_rsa_private_key(bits: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


class RsaPool:
    """A small process-wide pool of distinct RSA private keys per size, filled on first use.

    NOTE: seeded keys take their RSA material from this pool so that seeding hundreds of RSA
    keys stays fast; two seeded keys can therefore share material. Versions of one seeded key
    are distinct as long as the key has at most `size` versions. Keys created or rotated through
    the API always get freshly generated material.
    """

    def __init__(self, size: int = 16):
        self.size = size
        self._keys: dict[int, list[bytes]] = {}
        self._lock = threading.Lock()

    def material(self, bits: int, index: int) -> bytes:
        with self._lock:
            pool = self._keys.setdefault(bits, [])
            slot = index % self.size
            while len(pool) <= slot:
                pool.append(private_key_to_der(new_rsa_private_key(bits)))
            return pool[slot]


RSA_POOL = RsaPool()
# NOTE: only emulators started with `reuse_wrapping_keys=True` (the test fixtures) draw vault
# wrapping keys from this pool, so vaults of different emulators in one process can share one.
# Vaults of one emulator get distinct keys up to the pool size.
WRAPPING_KEY_POOL = RsaPool(size=8)


def private_key_to_der(private_key) -> bytes:
    return private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_key_pem(public_key) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


@functools.lru_cache(maxsize=256)
def load_der_private_key(material: bytes):
    """Load a PKCS#8 DER private key, validating it; the same bytes load only once.

    Validating an RSA-4096 key took about 0.4 s of CPU with cryptography 50.0.2 on a 2-core AMD
    EPYC, spent while the emulator holds its state lock. The vault wrapping key and RSA key
    versions are loaded on every import, export and GetKeyVersion, so without the cache the
    emulator's own CPU decided how long a run took, a cost OCI does not have. Key objects are
    immutable, and a load that raises is not cached.
    """
    return serialization.load_der_private_key(material, password=None)


def new_material(algorithm: str, length: int, curve_id: str | None) -> bytes:
    """Generate fresh key material for a key shape (raw bytes for AES, PKCS#8 DER otherwise)."""
    if algorithm == "AES":
        return os.urandom(length)
    if algorithm == "RSA":
        return private_key_to_der(new_rsa_private_key(length * 8))
    curve_class, _ = CURVES[curve_id]
    return private_key_to_der(ec.generate_private_key(curve_class()))


def material_public_key_pem(algorithm: str, material: bytes) -> str | None:
    if algorithm == "AES":
        return None
    return public_key_pem(load_der_private_key(material).public_key())


def fingerprint_of_public_key(public_key) -> str:
    """Return OCI's API-key fingerprint: MD5 of the DER public key as colon-separated hex."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashlib.md5(der).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def load_caller_public_key(pem: str, field: str):
    """Load an RSA public key sent by a caller; OCI accepts RSA 2048, 3072 and 4096 bits."""
    try:
        public_key = serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError, AttributeError):
        raise errors.InvalidParameter(f"{field} is not a PEM-encoded public key; send an RSA public key in PEM format.")
    if not isinstance(public_key, rsa.RSAPublicKey) or public_key.key_size not in (2048, 3072, 4096):
        raise errors.InvalidParameter(f"{field} must be an RSA public key of 2048, 3072 or 4096 bits.")
    return public_key


def wrap_material(public_key: rsa.RSAPublicKey, algorithm: str, material: bytes) -> bytes:
    if algorithm == "RSA_OAEP_AES_SHA256":
        transport_key = os.urandom(32)
        return public_key.encrypt(transport_key, _oaep()) + aes_key_wrap_with_padding(transport_key, material)
    if algorithm == "RSA_OAEP_SHA256":
        max_length = public_key.key_size // 8 - OAEP_SHA256_OVERHEAD
        if len(material) > max_length:
            raise errors.InvalidParameter(
                f"Key material of {len(material)} bytes is too large for RSA_OAEP_SHA256 under a "
                f"{public_key.key_size}-bit public key (at most {max_length} bytes); use RSA_OAEP_AES_SHA256."
            )
        return public_key.encrypt(material, _oaep())
    raise errors.InvalidParameter(
        f"algorithm {algorithm!r} is not supported; use RSA_OAEP_AES_SHA256 or RSA_OAEP_SHA256."
    )


def unwrap_material(private_key: rsa.RSAPrivateKey, algorithm: str, blob: bytes) -> bytes:
    """Unwrap an import blob; every decoding failure becomes one detail-free InvalidParameter."""
    modulus_length = private_key.key_size // 8
    failure = errors.InvalidParameter(
        "wrappedImportKey.keyMaterial could not be unwrapped with this vault's wrapping key; wrap the "
        "material under the public key that GetWrappingKey returns for this vault."
    )
    try:
        if algorithm == "RSA_OAEP_AES_SHA256":
            if len(blob) <= modulus_length:
                raise failure
            transport_key = private_key.decrypt(blob[:modulus_length], _oaep())
            if len(transport_key) not in (16, 24, 32):
                raise failure
            return aes_key_unwrap_with_padding(transport_key, blob[modulus_length:])
        if algorithm == "RSA_OAEP_SHA256":
            if len(blob) != modulus_length:
                raise failure
            return private_key.decrypt(blob, _oaep())
    except (ValueError, InvalidUnwrap):
        raise failure from None
    raise errors.InvalidParameter(
        f"wrappedImportKey.wrappingAlgorithm {algorithm!r} is not supported; use RSA_OAEP_AES_SHA256 or RSA_OAEP_SHA256."
    )


def check_import_material(algorithm: str, length: int, curve_id: str | None, material: bytes) -> None:
    """Raise InvalidParameter unless the unwrapped material fits the declared key shape."""
    if algorithm == "AES":
        if len(material) != length:
            raise errors.InvalidParameter(
                f"The imported key material is {len(material)} bytes but keyShape.length is {length}; "
                "declare the length of the AES key that was wrapped."
            )
        return
    if algorithm == "RSA":
        try:
            private_key = load_der_private_key(material)
        except (ValueError, TypeError):
            raise errors.InvalidParameter(
                "The imported key material is not a PKCS#8 DER RSA private key; wrap the key in PKCS#8 DER form."
            ) from None
        if not isinstance(private_key, rsa.RSAPrivateKey) or private_key.key_size != length * 8:
            actual = private_key.key_size if isinstance(private_key, rsa.RSAPrivateKey) else "non-RSA"
            raise errors.InvalidParameter(
                f"The imported key material is a {actual}-bit key but keyShape.length is {length} bytes "
                f"({length * 8} bits); declare the size of the RSA key that was wrapped."
            )
        return
    raise errors.InvalidParameter(f"Import of {algorithm} keys is not supported; only AES and RSA keys can be imported.")


# Symmetric ciphertexts start with this marker, then the key version OCID, so Decrypt can find the
# version that encrypted, as OCI's ciphertexts do.
# NOTE: the ciphertext layout is the emulator's own; OCI's is undocumented and differs.
_CIPHERTEXT_MARKER = b"KEMU1"


def check_associated_data(associated) -> None:
    """Raise InvalidParameter unless associatedData is absent or an object of string values, as OCI's model types it."""
    if associated is None:
        return
    if not isinstance(associated, dict) or not all(isinstance(value, str) for value in associated.values()):
        raise errors.InvalidParameter(
            f"associatedData {associated!r} is invalid; send an object that maps strings to strings."
        )


def _associated_data(associated: dict | None) -> bytes | None:
    if not associated:
        return None
    return "&".join(f"{k}={associated[k]}" for k in sorted(associated)).encode("utf-8")


def aes_encrypt(material: bytes, key_version_id: str, plaintext: bytes, associated: dict | None) -> bytes:
    version = key_version_id.encode("ascii")
    nonce = os.urandom(12)
    sealed = AESGCM(material).encrypt(nonce, plaintext, _associated_data(associated))
    return _CIPHERTEXT_MARKER + len(version).to_bytes(2, "big") + version + nonce + sealed


def aes_ciphertext_version(ciphertext: bytes) -> str:
    if not ciphertext.startswith(_CIPHERTEXT_MARKER) or len(ciphertext) < len(_CIPHERTEXT_MARKER) + 2:
        raise errors.InvalidParameter("ciphertext was not produced by this service; pass the ciphertext that Encrypt returned.")
    offset = len(_CIPHERTEXT_MARKER)
    length = int.from_bytes(ciphertext[offset:offset + 2], "big")
    return ciphertext[offset + 2:offset + 2 + length].decode("ascii", "replace")


def aes_decrypt(material: bytes, ciphertext: bytes, associated: dict | None) -> bytes:
    offset = len(_CIPHERTEXT_MARKER)
    length = int.from_bytes(ciphertext[offset:offset + 2], "big")
    body = ciphertext[offset + 2 + length:]
    try:
        return AESGCM(material).decrypt(body[:12], body[12:], _associated_data(associated))
    except (InvalidTag, ValueError):
        raise errors.InvalidParameter(
            "ciphertext could not be decrypted; check keyId and associatedData match the Encrypt call."
        ) from None


def rsa_encrypt(material: bytes, algorithm: str, plaintext: bytes) -> bytes:
    hash_algorithm = hashes.SHA1() if algorithm == "RSA_OAEP_SHA_1" else hashes.SHA256()
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm=hash_algorithm), algorithm=hash_algorithm, label=None)
    try:
        return load_der_private_key(material).public_key().encrypt(plaintext, oaep)
    except ValueError:
        raise errors.InvalidParameter("plaintext is too long for this RSA key and encryptionAlgorithm.") from None


def rsa_decrypt(material: bytes, algorithm: str, ciphertext: bytes) -> bytes:
    hash_algorithm = hashes.SHA1() if algorithm == "RSA_OAEP_SHA_1" else hashes.SHA256()
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm=hash_algorithm), algorithm=hash_algorithm, label=None)
    try:
        return load_der_private_key(material).decrypt(ciphertext, oaep)
    except ValueError:
        raise errors.InvalidParameter("ciphertext could not be decrypted with this key version.") from None


_HASHES = {"224": hashes.SHA224, "256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}
# OCI's SignDataDetails.signing_algorithm values, as (hash, padding scheme, key family).
SIGNING_ALGORITHMS = {
    **{f"SHA_{bits}_RSA_PKCS_PSS": (bits, "PSS", "RSA") for bits in ("224", "256", "384", "512")},
    **{f"SHA_{bits}_RSA_PKCS1_V1_5": (bits, "PKCS1", "RSA") for bits in ("224", "256", "384", "512")},
    "ECDSA_SHA_256": ("256", None, "ECDSA"),
    "ECDSA_SHA_384": ("384", None, "ECDSA"),
    "ECDSA_SHA_512": ("512", None, "ECDSA"),
}
MESSAGE_TYPES = ("RAW", "DIGEST")


def _signing_parameters(signing_algorithm, message_type):
    """Map an OCI signing algorithm to (hash, padding or None for ECDSA, key family)."""
    if signing_algorithm not in SIGNING_ALGORITHMS:
        raise errors.InvalidParameter(
            f"signingAlgorithm {signing_algorithm!r} is invalid; use one of {sorted(SIGNING_ALGORITHMS)}."
        )
    if message_type not in MESSAGE_TYPES:
        raise errors.InvalidParameter(f"messageType {message_type!r} is invalid; use RAW or DIGEST.")
    bits, scheme, family = SIGNING_ALGORITHMS[signing_algorithm]
    hash_algorithm = _HASHES[bits]()
    if scheme == "PSS":
        pad = padding.PSS(mgf=padding.MGF1(hash_algorithm), salt_length=hash_algorithm.digest_size)
    elif scheme == "PKCS1":
        pad = padding.PKCS1v15()
    else:
        pad = None
    if message_type == "DIGEST":
        return utils.Prehashed(hash_algorithm), pad, family
    return hash_algorithm, pad, family


def sign(material: bytes, algorithm: str, signing_algorithm: str, message_type: str, message: bytes) -> bytes:
    hash_algorithm, pad, family = _signing_parameters(signing_algorithm, message_type)
    if family != algorithm:
        raise errors.InvalidParameter(f"signingAlgorithm {signing_algorithm} does not fit a {algorithm} key.")
    private_key = load_der_private_key(material)
    try:
        if family == "ECDSA":
            return private_key.sign(message, ec.ECDSA(hash_algorithm))
        return private_key.sign(message, pad, hash_algorithm)
    except ValueError:
        raise errors.InvalidParameter("message is not a digest of the length that signingAlgorithm needs.") from None


def verify(material: bytes, algorithm: str, signing_algorithm: str, message_type: str, message: bytes, signature: bytes) -> bool:
    hash_algorithm, pad, family = _signing_parameters(signing_algorithm, message_type)
    if family != algorithm:
        raise errors.InvalidParameter(f"signingAlgorithm {signing_algorithm} does not fit a {algorithm} key.")
    public_key = load_der_private_key(material).public_key()
    try:
        if family == "ECDSA":
            public_key.verify(signature, message, ec.ECDSA(hash_algorithm))
        else:
            public_key.verify(signature, message, pad, hash_algorithm)
    except (InvalidSignature, ValueError):
        return False
    return True


def b64decode_field(value, field: str) -> bytes:
    if not isinstance(value, str):
        raise errors.InvalidParameter(f"{field} must be a base64-encoded string.")
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        raise errors.InvalidParameter(f"{field} is not valid base64; encode the bytes in standard base64.") from None


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def constant_time_equal(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)
