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
import re

from cryptography.hazmat.primitives import serialization

from . import crypto, errors, ocids
from .models import Key, KeyVersion, Lifecycle, Tenancy, User, new_vault

SEEDABLE_KEY_STATES = ("ENABLED", "DISABLED", "PENDING_DELETION")
# OCI region identifiers such as eu-frankfurt-1 or us-gov-ashburn-1; the emulator's routes accept the same.
_REGION = re.compile(r"^[a-z]+(?:-[a-z]+)+-[0-9]+$")
# A vault OCID the emulator can route: ocid1.vault.<realm>.<region>.<vault-suffix>.<unique>.
_VAULT_ID = re.compile(r"^ocid1\.vault\.[a-z0-9]+\.(?P<region>[a-z0-9-]+)\.(?P<suffix>[a-z0-9]+)\.[a-z0-9]+$")


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


def _list(item: dict, name: str, where: str) -> list:
    value = item.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise errors.InvalidParameter(f"Seed {where}{name} must be a list, not {value!r}.")
    return value


def _object(value, where: str) -> dict:
    if not isinstance(value, dict):
        raise errors.InvalidParameter(f"Seed {where} must be a JSON object, not {value!r}.")
    return value


def _string_map(value, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise errors.InvalidParameter(f"Seed {where} must map strings to strings, not {value!r}.")
    return value


def _add_tenancy(backend, item: dict, index: int) -> Tenancy:
    where = f"tenancies[{index}]"
    _object(item, where)
    tenancy_id = _field(item, "id", where)
    compartments = _list(item, "compartments", f"{where}.")
    for compartment_index, compartment in enumerate(compartments):
        if not isinstance(compartment, str):
            raise errors.InvalidParameter(f"Seed {where}.compartments[{compartment_index}] {compartment!r} is not an OCID string.")
    users = []
    for user_index, user in enumerate(_list(item, "users", f"{where}.")):
        user_where = f"{where}.users[{user_index}]"
        _object(user, user_where)
        pem = _field(user, "public_key_pem", user_where)
        try:
            public_key = serialization.load_pem_public_key(pem.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise errors.InvalidParameter(f"Seed {user_where}.public_key_pem is not a PEM public key.") from None
        fingerprint = user.get("fingerprint") or crypto.fingerprint_of_public_key(public_key)
        if not isinstance(fingerprint, str) or fingerprint.lower() != crypto.fingerprint_of_public_key(public_key):
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


def _add_key(backend, vault, tenancy: Tenancy, item: dict, where: str) -> Key:
    _object(item, where)
    algorithm = item.get("algorithm", "AES")
    length = item.get("length", 32)
    curve_id = item.get("curve_id")
    protection_mode = item.get("protection_mode", "SOFTWARE")
    state = item.get("lifecycle_state", "ENABLED")
    if state not in SEEDABLE_KEY_STATES:
        raise errors.InvalidParameter(f"Seed {where}.lifecycle_state {state!r} is invalid; use one of {SEEDABLE_KEY_STATES}.")
    if protection_mode not in ("HSM", "SOFTWARE"):
        raise errors.InvalidParameter(f"Seed {where}.protection_mode {protection_mode!r} is invalid; use HSM or SOFTWARE.")
    try:
        backend._key_shape({"keyShape": {"algorithm": algorithm, "length": length,
                                         **({"curveId": curve_id} if curve_id else {})}})
    except errors.ServiceError as exc:
        raise errors.InvalidParameter(f"Seed {where}: {exc.message}") from None
    compartment_id = item.get("compartment_id") or vault.compartment_id
    _check_seed_compartment(tenancy, compartment_id, f"{where}.compartment_id")
    freeform_tags = _string_map(item.get("freeform_tags"), f"{where}.freeform_tags")
    count = item.get("versions", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise errors.InvalidParameter(f"Seed {where}.versions {count!r} must be a positive integer.")
    created = backend.clock.next()
    key = Key(
        id=ocids.new_key_id(vault.region, vault.suffix),
        vault_id=vault.id,
        compartment_id=compartment_id,
        display_name=_field(item, "display_name", where),
        algorithm=algorithm,
        length=length,
        curve_id=curve_id,
        protection_mode=protection_mode,
        time_created=created,
        lifecycle=Lifecycle(state),
        freeform_tags=dict(freeform_tags),
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


def _check_seed_compartment(tenancy: Tenancy, compartment_id, where: str) -> None:
    if compartment_id != tenancy.id and compartment_id not in tenancy.compartments:
        raise errors.InvalidParameter(
            f"Seed {where} {compartment_id!r} is not a compartment of tenancy {tenancy.id}; list it under compartments."
        )


def _check_vault_id(backend, vault_id, region: str, where: str) -> None:
    if vault_id is None:
        return
    found = _VAULT_ID.match(vault_id) if isinstance(vault_id, str) else None
    if found is None or found.group("region") != region:
        raise errors.InvalidParameter(
            f"Seed {where}.id {vault_id!r} is not a vault OCID of region {region}; use "
            f"ocid1.vault.oc1.{region}.<suffix>.<unique> in lowercase letters and digits, or leave id out."
        )
    if vault_id in backend.vaults or any(v.suffix == found.group("suffix") for v in backend.vaults.values()):
        raise errors.InvalidParameter(f"Seed {where}.id {vault_id} or its endpoint suffix is already in use; pick another.")


def apply_seed(backend, seed: dict) -> dict:
    """Add a seed object to the backend (the caller holds the lock); return the OCIDs it created.

    A seed that fails validation leaves the backend as it was, so a bad seed never half-applies.
    """
    saved = (dict(backend.tenancies), {t.id: (list(t.compartments), list(t.users)) for t in backend.tenancies.values()},
             dict(backend.vaults), backend._seed_count, backend._vault_count)
    try:
        return _apply_seed(backend, seed)
    except errors.ServiceError:
        tenancies, members, vaults, seed_count, vault_count = saved
        backend.tenancies.clear()
        backend.tenancies.update(tenancies)
        for tenancy_id, (compartments, users) in members.items():
            backend.tenancies[tenancy_id].compartments[:] = compartments
            backend.tenancies[tenancy_id].users[:] = users
        backend.vaults.clear()
        backend.vaults.update(vaults)
        backend._seed_count, backend._vault_count = seed_count, vault_count
        raise


def _apply_seed(backend, seed: dict) -> dict:
    if not isinstance(seed, dict):
        raise errors.InvalidParameter("A seed must be a JSON object with tenancies, vaults and settings.")
    unknown = set(seed) - {"tenancies", "vaults", "settings"}
    if unknown:
        raise errors.InvalidParameter(f"Seed has unknown top-level fields {sorted(unknown)}; use tenancies, vaults and settings.")
    created = {"tenancies": [], "vaults": []}
    for index, item in enumerate(_list(seed, "tenancies", "")):
        created["tenancies"].append(_add_tenancy(backend, item, index).id)
    for index, item in enumerate(_list(seed, "vaults", "")):
        where = f"vaults[{index}]"
        _object(item, where)
        tenancy_id = _field(item, "tenancy_id", where)
        if tenancy_id not in backend.tenancies:
            raise errors.InvalidParameter(f"Seed {where}.tenancy_id {tenancy_id} is not a seeded tenancy; add it under tenancies.")
        tenancy = backend.tenancies[tenancy_id]
        region = _field(item, "region", where)
        if not _REGION.match(region):
            raise errors.InvalidParameter(f"Seed {where}.region {region!r} is not an OCI region identifier such as eu-frankfurt-1.")
        vault_type = item.get("vault_type", "DEFAULT")
        if vault_type not in ("DEFAULT", "VIRTUAL_PRIVATE"):
            raise errors.InvalidParameter(f"Seed {where}.vault_type {vault_type!r} is invalid; use DEFAULT or VIRTUAL_PRIVATE.")
        compartment_id = _field(item, "compartment_id", where)
        _check_seed_compartment(tenancy, compartment_id, f"{where}.compartment_id")
        display_name = item.get("display_name", f"vault-{index}")
        if not isinstance(display_name, str) or not display_name:
            raise errors.InvalidParameter(f"Seed {where}.display_name {display_name!r} must be a non-empty string.")
        _check_vault_id(backend, item.get("id"), region, where)
        vault = new_vault(
            tenancy_id,
            compartment_id,
            region,
            display_name,
            vault_type,
            backend.clock,
            Lifecycle("ACTIVE"),
            vault_id=item.get("id"),
            freeform_tags=_string_map(item.get("freeform_tags"), f"{where}.freeform_tags"),
        )
        backend.add_vault(vault)
        keys = [_add_key(backend, vault, tenancy, key, f"{where}.keys[{i}]").id
                for i, key in enumerate(_list(item, "keys", f"{where}."))]
        created["vaults"].append({"id": vault.id, "management_endpoint": f"{backend.base_url}/vaults/{vault.suffix}/management",
                                  "crypto_endpoint": f"{backend.base_url}/vaults/{vault.suffix}/crypto", "keys": keys})
    settings = seed.get("settings")
    if settings:
        backend.settings.update(_object(settings, "settings"))
    return created
