"""Seed files: a whole test or demo world (tenancies, API-key users, vaults, keys) in one JSON object.

Format:

    {"tenancies": [{"id", "compartments": [ocid, ...], "users": [{"id", "fingerprint", "public_key_pem"}]}],
     "vaults": [{"id"?, "tenancy_id", "compartment_id", "region", "display_name", "vault_type",
                 "keys": [{"display_name", "algorithm", "length", "curve_id"?, "protection_mode",
                           "versions", "lifecycle_state", "freeform_tags", "compartment_id"?}]}],
     "settings": {...}}

Seeded vaults are ACTIVE and seeded keys and versions are ENABLED (or the given `lifecycle_state`)
at once, with no lifecycle delay.
"""

import json
import os

from cryptography.hazmat.primitives import serialization

from . import crypto, errors, ocids
from .models import Key, KeyVersion, Lifecycle, Tenancy, User, new_vault

SEEDABLE_KEY_STATES = ("ENABLED", "DISABLED", "PENDING_DELETION")


def load_seed(seed) -> dict:
    """Return a seed object from a dict, a JSON file path, or None (an empty world)."""
    if seed is None:
        return {}
    if isinstance(seed, dict):
        return seed
    path = os.fspath(seed)
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as exc:
        raise ValueError(f"Seed file {path} could not be read: {exc.strerror}; pass an existing JSON file.") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"Seed file {path} is not valid JSON: {exc}; fix the file.") from None


def _field(item: dict, name: str, where: str, kind=str):
    value = item.get(name)
    if not isinstance(value, kind):
        raise errors.InvalidParameter(f"Seed {where}.{name} is missing or not a {kind.__name__}: {value!r}.")
    return value


def _add_tenancy(backend, item: dict, index: int) -> Tenancy:
    where = f"tenancies[{index}]"
    tenancy_id = _field(item, "id", where)
    compartments = item.get("compartments") or []
    users = []
    for user_index, user in enumerate(item.get("users") or []):
        user_where = f"{where}.users[{user_index}]"
        pem = _field(user, "public_key_pem", user_where)
        try:
            public_key = serialization.load_pem_public_key(pem.encode("ascii"))
        except ValueError:
            raise errors.InvalidParameter(f"Seed {user_where}.public_key_pem is not a PEM public key.") from None
        fingerprint = user.get("fingerprint") or crypto.fingerprint_of_public_key(public_key)
        if fingerprint.lower() != crypto.fingerprint_of_public_key(public_key):
            raise errors.InvalidParameter(
                f"Seed {user_where}.fingerprint {fingerprint} does not match its public key "
                f"({crypto.fingerprint_of_public_key(public_key)}); use OCI's MD5 fingerprint of the DER public key."
            )
        users.append(User(_field(user, "id", user_where), fingerprint, pem))
    existing = backend.tenancies.get(tenancy_id)
    if existing:
        existing.compartments.extend(c for c in compartments if c not in existing.compartments)
        existing.users.extend(users)
        return existing
    tenancy = Tenancy(tenancy_id, list(compartments), users)
    backend.tenancies[tenancy_id] = tenancy
    return tenancy


def _add_key(backend, vault, item: dict, where: str) -> Key:
    algorithm = item.get("algorithm", "AES")
    length = item.get("length", 32)
    curve_id = item.get("curve_id")
    protection_mode = item.get("protection_mode", "SOFTWARE")
    state = item.get("lifecycle_state", "ENABLED")
    if state not in SEEDABLE_KEY_STATES:
        raise errors.InvalidParameter(f"Seed {where}.lifecycle_state {state!r} is invalid; use one of {SEEDABLE_KEY_STATES}.")
    backend._key_shape({"keyShape": {"algorithm": algorithm, "length": length, **({"curveId": curve_id} if curve_id else {})}})
    count = item.get("versions", 1)
    if not isinstance(count, int) or count < 1:
        raise errors.InvalidParameter(f"Seed {where}.versions {count!r} must be a positive integer.")
    created = backend.clock.next()
    key = Key(
        id=ocids.new_key_id(vault.region, vault.suffix),
        vault_id=vault.id,
        compartment_id=item.get("compartment_id") or vault.compartment_id,
        display_name=_field(item, "display_name", where),
        algorithm=algorithm,
        length=length,
        curve_id=curve_id,
        protection_mode=protection_mode,
        time_created=created,
        lifecycle=Lifecycle(state),
        freeform_tags=dict(item.get("freeform_tags") or {}),
    )
    if state == "PENDING_DELETION":
        key.time_of_deletion = created + 30 * 86400
        key.state_before_deletion = "ENABLED"
    backend._seed_count += 1
    for version_index in range(count):
        # NOTE: material is generated on first use (AES) or drawn from the shared RSA pool, so
        # seeding a thousand keys takes well under a second.
        version = KeyVersion(
            id=ocids.new_key_version_id(vault.region, vault.suffix),
            key_id=key.id,
            vault_id=vault.id,
            compartment_id=key.compartment_id,
            time_created=created if version_index == 0 else backend.clock.next(),
            origin="INTERNAL",
            lifecycle=Lifecycle("ENABLED"),
            pool_index=backend._seed_count * 7 + version_index if algorithm == "RSA" else None,
        )
        key.versions.append(version)
        key.current_version_id = version.id
    vault.keys[key.id] = key
    return key


def apply_seed(backend, seed: dict) -> dict:
    """Add a seed object to the backend (the caller holds the lock); return the OCIDs it created."""
    if not isinstance(seed, dict):
        raise errors.InvalidParameter("A seed must be a JSON object with tenancies, vaults and settings.")
    unknown = set(seed) - {"tenancies", "vaults", "settings"}
    if unknown:
        raise errors.InvalidParameter(f"Seed has unknown top-level fields {sorted(unknown)}; use tenancies, vaults and settings.")
    created = {"tenancies": [], "vaults": []}
    for index, item in enumerate(seed.get("tenancies") or []):
        created["tenancies"].append(_add_tenancy(backend, item, index).id)
    for index, item in enumerate(seed.get("vaults") or []):
        where = f"vaults[{index}]"
        tenancy_id = _field(item, "tenancy_id", where)
        if tenancy_id not in backend.tenancies:
            raise errors.InvalidParameter(f"Seed {where}.tenancy_id {tenancy_id} is not a seeded tenancy; add it under tenancies.")
        vault_type = item.get("vault_type", "DEFAULT")
        vault = new_vault(
            tenancy_id,
            _field(item, "compartment_id", where),
            _field(item, "region", where),
            item.get("display_name", f"vault-{index}"),
            vault_type,
            backend.clock,
            Lifecycle("ACTIVE"),
            vault_id=item.get("id"),
            freeform_tags=item.get("freeform_tags"),
        )
        backend.vaults[vault.id] = vault
        keys = [_add_key(backend, vault, key, f"{where}.keys[{i}]").id for i, key in enumerate(item.get("keys") or [])]
        created["vaults"].append({"id": vault.id, "management_endpoint": f"{backend.base_url}/vaults/{vault.suffix}/management",
                                  "crypto_endpoint": f"{backend.base_url}/vaults/{vault.suffix}/crypto", "keys": keys})
    if seed.get("settings"):
        backend.settings.update(seed["settings"])
    return created
