"""Verification of copied versions.

- RSA: the public key of the source version and of its copy are equal (compared as numbers,
  so PEM formatting does not matter).
- AES: import integrity. The target vault unwraps the blob with its private wrapping key and
  the RFC 5649 integrity check of AES key wrap with padding rejects any altered blob, so an
  import that reaches ENABLED holds the exported material.
- Deep verify (opt-in): both versions are exported under an ephemeral RSA key that exists only
  in memory for the run, unwrapped locally, and the SHA-256 digests of the two materials are
  compared in constant time. The material is dropped right after hashing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap_with_padding

RSA_PUBLIC_KEY_EQUAL = "rsa_public_key_equal"
IMPORT_INTEGRITY = "import_integrity"
DEEP_DIGEST_EQUAL = "deep_digest_equal"


def public_keys_equal(first_pem: str | None, second_pem: str | None) -> bool:
    """Tell whether two PEM public keys are the same RSA key."""
    if not first_pem or not second_pem:
        return False
    first = serialization.load_pem_public_key(first_pem.encode())
    second = serialization.load_pem_public_key(second_pem.encode())
    return first.public_numbers() == second.public_numbers()


class EphemeralWrappingKey:
    """An RSA key pair that lives only in memory, to export versions for deep verify.

    The key is created on first use. Its size is 2048 bits because the key protects nothing
    beyond one run and a larger key only slows the run down.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._private_key = None

    def _key(self):
        with self._lock:
            if self._private_key is None:
                self._private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            return self._private_key

    def public_pem(self) -> str:
        return self._key().public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def material_digest(self, encrypted_key: str, wrapping_algorithm: str) -> bytes:
        """Unwrap an export made under this key and return the SHA-256 digest of the material.

        Raises ``ValueError`` without detail when the blob does not unwrap.
        """
        private_key = self._key()
        oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
        blob = base64.b64decode(encrypted_key)
        modulus_bytes = private_key.key_size // 8
        try:
            if wrapping_algorithm == "RSA_OAEP_SHA256":
                material = private_key.decrypt(blob, oaep)
            else:
                aes_key = private_key.decrypt(blob[:modulus_bytes], oaep)
                material = aes_key_unwrap_with_padding(aes_key, blob[modulus_bytes:])
                del aes_key
        except (ValueError, InvalidUnwrap):
            raise ValueError("the exported key did not unwrap under the ephemeral key") from None
        digest = hashlib.sha256(material).digest()
        del material
        return digest


def digests_equal(first: bytes, second: bytes) -> bool:
    return hmac.compare_digest(first, second)
