"""Independent implementations of the client side of OCI's key wrapping, for checking the emulator."""

import base64
import os

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap_with_padding, aes_key_wrap_with_padding

OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def public_pem(private_key) -> str:
    return private_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def unwrap_export(private_key, algorithm: str, encrypted_key_b64: str) -> bytes:
    """Unwrap an ExportKey blob: RSA-OAEP-SHA256 of a transport key, then RFC 5649 wrap of the material."""
    blob = base64.b64decode(encrypted_key_b64)
    modulus_length = private_key.key_size // 8
    if algorithm == "RSA_OAEP_SHA256":
        return private_key.decrypt(blob, OAEP)
    transport_key = private_key.decrypt(blob[:modulus_length], OAEP)
    return aes_key_unwrap_with_padding(transport_key, blob[modulus_length:])


def wrap_for_import(wrapping_public_pem: str, material: bytes, algorithm: str = "RSA_OAEP_AES_SHA256") -> str:
    """Wrap key material under a vault's wrapping key as a caller of ImportKey does."""
    public_key = serialization.load_pem_public_key(wrapping_public_pem.encode("ascii"))
    if algorithm == "RSA_OAEP_SHA256":
        return base64.b64encode(public_key.encrypt(material, OAEP)).decode("ascii")
    transport_key = os.urandom(32)
    blob = public_key.encrypt(transport_key, OAEP) + aes_key_wrap_with_padding(transport_key, material)
    return base64.b64encode(blob).decode("ascii")
