"""Saving and loading the emulator's state to a JSON file.

The file holds key material and the vaults' private wrapping keys, so it is written with mode 0600,
through a temporary file and an atomic rename, so a crash never leaves half a file.
"""

import base64
import json
import os
import tempfile
from dataclasses import asdict

from .models import Key, KeyVersion, Lifecycle, Tenancy, User, Vault

FORMAT_VERSION = 1


def _bytes_out(value: bytes | None) -> str | None:
    return base64.b64encode(value).decode("ascii") if value is not None else None


def _bytes_in(value: str | None) -> bytes | None:
    return base64.b64decode(value) if value is not None else None


def dump(backend) -> dict:
    vaults = []
    for vault in backend.vaults.values():
        item = asdict(vault)
        item["wrapping_key_der"] = _bytes_out(vault.wrapping_key_der)
        item["keys"] = []
        for key in vault.keys.values():
            key_item = asdict(key)
            for version_item, version in zip(key_item["versions"], key.versions):
                version_item["material"] = _bytes_out(version.material)
            item["keys"].append(key_item)
        vaults.append(item)
    return {
        "format_version": FORMAT_VERSION,
        "tenancies": [asdict(tenancy) for tenancy in backend.tenancies.values()],
        "vaults": vaults,
        "settings": asdict(backend.settings),
        "metrics": backend.metrics,
        "seed_count": backend._seed_count,
    }


def restore(backend, data: dict) -> None:
    if data.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"State file format {data.get('format_version')!r} is not {FORMAT_VERSION}; delete the file to start afresh.")
    for item in data["tenancies"]:
        backend.tenancies[item["id"]] = Tenancy(item["id"], item["compartments"], [User(**user) for user in item["users"]])
    for item in data["vaults"]:
        keys = item.pop("keys")
        item["lifecycle"] = Lifecycle(**item["lifecycle"])
        item["wrapping_key_der"] = _bytes_in(item["wrapping_key_der"])
        vault = Vault(**item)
        for key_item in keys:
            versions = key_item.pop("versions")
            key_item["lifecycle"] = Lifecycle(**key_item["lifecycle"])
            key = Key(**key_item)
            for version_item in versions:
                version_item["lifecycle"] = Lifecycle(**version_item["lifecycle"])
                version_item["material"] = _bytes_in(version_item["material"])
                key.versions.append(KeyVersion(**version_item))
            vault.keys[key.id] = key
        backend.vaults[vault.id] = vault
    backend.settings.update(data["settings"])
    backend.metrics.extend(data.get("metrics", []))
    backend._seed_count = data.get("seed_count", 0)


def save(backend, path: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(prefix=".kms-emulator-state-", dir=directory)
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(dump(backend), handle)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def load(backend, path: str) -> bool:
    """Load a state file into an empty backend; return False when the file does not exist yet."""
    if not os.path.exists(path):
        return False
    with open(path, encoding="utf-8") as handle:
        restore(backend, json.load(handle))
    return True
