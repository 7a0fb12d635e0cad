"""The emulator's state: tenancies, API-key users, vaults, keys and key versions.

Every object that OCI moves through a transitional lifecycle state (CREATING, ENABLING, DISABLING,
SCHEDULING_DELETION, CANCELLING_DELETION) stores the state it will reach and when; the state is
resolved whenever the object is read, so no timer threads are needed and a saved state file
resumes where it stopped.
"""

import datetime
import threading
import time
from dataclasses import dataclass, field

from . import crypto, ocids


def format_time(epoch: float) -> str:
    """Format a time as RFC 3339 in UTC with milliseconds, as OCI does."""
    moment = datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(value: str, field_name: str) -> float:
    from . import errors

    try:
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except (AttributeError, ValueError):
        raise errors.InvalidParameter(f"{field_name} {value!r} is not an RFC 3339 time, e.g. 2030-01-31T00:00:00Z.") from None


class Clock:
    """Timestamps that strictly increase by at least one millisecond per call.

    Callers order key versions by `timeCreated`, and OCI prints it with millisecond precision, so
    two objects created in the same millisecond must still get distinct, ordered times.
    """

    def __init__(self):
        self._last = 0.0
        self._lock = threading.Lock()

    def next(self) -> float:
        with self._lock:
            now = max(time.time(), self._last + 0.001)
            self._last = now
            return now


@dataclass
class Lifecycle:
    """A lifecycle state with an optional pending transition to another state at a given time."""

    lifecycle_state: str
    next_state: str | None = None
    next_at: float = 0.0

    def resolve(self, now: float) -> str:
        if self.next_state is not None and now >= self.next_at:
            self.lifecycle_state = self.next_state
            self.next_state = None
        return self.lifecycle_state

    def move(self, transitional: str, final: str, now: float, delay: float) -> None:
        if delay <= 0:
            self.lifecycle_state, self.next_state = final, None
            return
        self.lifecycle_state, self.next_state, self.next_at = transitional, final, now + delay


@dataclass
class User:
    id: str
    fingerprint: str
    public_key_pem: str


@dataclass
class Tenancy:
    id: str
    compartments: list[str]
    users: list[User]


@dataclass
class KeyVersion:
    id: str
    key_id: str
    vault_id: str
    compartment_id: str
    time_created: float
    origin: str
    lifecycle: Lifecycle
    material: bytes | None = field(default=None, repr=False)
    # Seeded RSA versions draw their material lazily from the shared pool at this index.
    pool_index: int | None = None
    time_of_deletion: float | None = None
    state_before_deletion: str | None = None


@dataclass
class Key:
    id: str
    vault_id: str
    compartment_id: str
    display_name: str
    algorithm: str
    length: int
    curve_id: str | None
    protection_mode: str
    time_created: float
    lifecycle: Lifecycle
    freeform_tags: dict = field(default_factory=dict)
    defined_tags: dict = field(default_factory=dict)
    is_auto_rotation_enabled: bool = False
    auto_key_rotation_details: dict | None = None
    versions: list[KeyVersion] = field(default_factory=list)
    current_version_id: str | None = None
    time_of_deletion: float | None = None
    state_before_deletion: str | None = None


@dataclass
class Vault:
    id: str
    suffix: str
    tenancy_id: str
    compartment_id: str
    region: str
    display_name: str
    vault_type: str
    time_created: float
    lifecycle: Lifecycle
    wrapping_key_id: str
    freeform_tags: dict = field(default_factory=dict)
    defined_tags: dict = field(default_factory=dict)
    wrapping_key_der: bytes | None = field(default=None, repr=False)
    wrapping_key_time_created: float = 0.0
    time_of_deletion: float | None = None
    keys: dict[str, Key] = field(default_factory=dict)

    def wrapping_private_key(self):
        """Return the vault's RSA-4096 wrapping key, generating it on first use."""
        if self.wrapping_key_der is None:
            self.wrapping_key_der = crypto.private_key_to_der(crypto.new_rsa_private_key(crypto.WRAPPING_KEY_BITS))
        return crypto.load_der_private_key(self.wrapping_key_der)


def version_material(key: Key, version: KeyVersion) -> bytes:
    """Return a version's key material, generating or drawing it from the pool on first use."""
    if version.material is None:
        if key.algorithm == "RSA" and version.pool_index is not None:
            version.material = crypto.RSA_POOL.material(key.length * 8, version.pool_index)
        else:
            version.material = crypto.new_material(key.algorithm, key.length, key.curve_id)
    return version.material


# ---- wire format: camelCase JSON exactly as the SDK models name the fields ----


def _drop_none(body: dict) -> dict:
    return {name: value for name, value in body.items() if value is not None}


def key_shape_wire(key: Key) -> dict:
    return _drop_none({"algorithm": key.algorithm, "length": key.length, "curveId": key.curve_id})


def vault_wire(vault: Vault, base_url: str, now: float, summary: bool = False) -> dict:
    body = {
        "compartmentId": vault.compartment_id,
        "cryptoEndpoint": f"{base_url}/vaults/{vault.suffix}/crypto",
        "definedTags": vault.defined_tags,
        "displayName": vault.display_name,
        "freeformTags": vault.freeform_tags,
        "id": vault.id,
        "lifecycleState": vault.lifecycle.resolve(now),
        "managementEndpoint": f"{base_url}/vaults/{vault.suffix}/management",
        "timeCreated": format_time(vault.time_created),
        "vaultType": vault.vault_type,
    }
    if not summary:
        body.update({
            "timeOfDeletion": format_time(vault.time_of_deletion) if vault.time_of_deletion else None,
            "wrappingkeyId": vault.wrapping_key_id,
            "isPrimary": True,
            "isVaultReplicable": vault.vault_type == "VIRTUAL_PRIVATE",
        })
    return _drop_none(body)


def key_wire(key: Key, now: float, summary: bool = False) -> dict:
    body = {
        "compartmentId": key.compartment_id,
        "definedTags": key.defined_tags,
        "displayName": key.display_name,
        "freeformTags": key.freeform_tags,
        "id": key.id,
        "lifecycleState": key.lifecycle.resolve(now),
        "timeCreated": format_time(key.time_created),
        "vaultId": key.vault_id,
        "protectionMode": key.protection_mode,
        "isAutoRotationEnabled": key.is_auto_rotation_enabled,
    }
    if summary:
        body["algorithm"] = key.algorithm
    else:
        body.update({
            "currentKeyVersion": key.current_version_id,
            "keyShape": key_shape_wire(key),
            "timeOfDeletion": format_time(key.time_of_deletion) if key.time_of_deletion else None,
            "isPrimary": True,
            "autoKeyRotationDetails": key.auto_key_rotation_details,
        })
    return _drop_none(body)


def key_version_wire(key: Key, version: KeyVersion, now: float, summary: bool = False) -> dict:
    body = {
        "compartmentId": version.compartment_id,
        "id": version.id,
        "keyId": version.key_id,
        "lifecycleState": version.lifecycle.resolve(now),
        "origin": version.origin,
        "timeCreated": format_time(version.time_created),
        "timeOfDeletion": format_time(version.time_of_deletion) if version.time_of_deletion else None,
        "vaultId": version.vault_id,
        "isAutoRotated": False,
    }
    if not summary:
        body["isPrimary"] = True
        body["publicKey"] = crypto.material_public_key_pem(key.algorithm, version_material(key, version))
    return _drop_none(body)


def new_vault(tenancy_id, compartment_id, region, display_name, vault_type, clock: Clock, lifecycle: Lifecycle,
              vault_id: str | None = None, freeform_tags=None, defined_tags=None) -> Vault:
    suffix = vault_id.split(".")[4] if vault_id and len(vault_id.split(".")) > 5 else ocids.new_vault_suffix()
    created = clock.next()
    return Vault(
        id=vault_id or ocids.new_vault_id(region, suffix),
        suffix=suffix,
        tenancy_id=tenancy_id,
        compartment_id=compartment_id,
        region=region,
        display_name=display_name,
        vault_type=vault_type,
        time_created=created,
        lifecycle=lifecycle,
        wrapping_key_id=ocids.new_wrapping_key_id(region, suffix),
        wrapping_key_time_created=created,
        freeform_tags=dict(freeform_tags or {}),
        defined_tags=dict(defined_tags or {}),
    )
