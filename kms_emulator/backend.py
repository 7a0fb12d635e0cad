"""The OCI operations the emulator serves, on top of the state in `models`.

Each public method implements one OCI operation. It takes the parsed request (`Call`) and returns
`(status, body, headers)`, or raises an `errors.ServiceError` with the code OCI would return.
One lock serialises every operation, which keeps the rules simple and is fast enough for a test
double.
"""

import base64
import copy
import json
import threading
import time
from dataclasses import asdict, dataclass, field

from cryptography.hazmat.primitives import serialization

from . import crypto, errors, ocids
from .auth import Principal
from .models import (
    Clock,
    Key,
    KeyVersion,
    Lifecycle,
    Tenancy,
    User,
    Vault,
    format_time,
    key_version_wire,
    key_wire,
    new_vault,
    parse_time,
    vault_wire,
    version_material,
)

API_VERSION = "20180608"
VAULT_TYPES = ("DEFAULT", "VIRTUAL_PRIVATE")
PROTECTION_MODES = ("HSM", "SOFTWARE", "EXTERNAL")
# OCI lets a key or key version be scheduled for deletion 7 to 30 days ahead, 30 by default.
MIN_DELETION_DAYS, MAX_DELETION_DAYS = 7, 30
MAX_PAGE_LIMIT = 1000


@dataclass
class Settings:
    """Run-time switches, changed with `PATCH /_emulator/settings`."""

    latency_ms: int = 0
    throttle_rps: float | None = None
    lifecycle_delay_ms: int = 50
    reject_rsa_import_key_version: bool = False
    deny_export_of_disabled_keys: bool = False

    def update(self, changes: dict) -> None:
        for name, value in changes.items():
            if name not in self.__dataclass_fields__:
                raise errors.InvalidParameter(
                    f"Unknown setting {name!r}; known settings are {sorted(self.__dataclass_fields__)}."
                )
            if name in ("reject_rsa_import_key_version", "deny_export_of_disabled_keys"):
                if not isinstance(value, bool):
                    raise errors.InvalidParameter(f"Setting {name} must be true or false, not {value!r}.")
            elif name == "throttle_rps":
                if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0):
                    raise errors.InvalidParameter(f"Setting throttle_rps must be a positive number or null, not {value!r}.")
            elif not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise errors.InvalidParameter(f"Setting {name} must be a non-negative integer of milliseconds, not {value!r}.")
            setattr(self, name, value)


@dataclass
class Call:
    """One parsed API request, as the handlers see it."""

    operation: str
    principal: Principal
    region: str | None = None
    vault_suffix: str | None = None
    path_params: dict = field(default_factory=dict)
    query: dict = field(default_factory=dict)
    body: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)


def _require(body: dict, name: str, kind=str, prefix: str = ""):
    value = body.get(name)
    if value is None:
        raise errors.MissingParameter(f"{prefix}{name} is required.")
    if not isinstance(value, kind):
        raise errors.InvalidParameter(f"{prefix}{name} has the wrong type: {value!r}.")
    return value


def _tags(body: dict, name: str) -> dict | None:
    value = body.get(name)
    if value is not None and not isinstance(value, dict):
        raise errors.InvalidParameter(f"{name} must be an object, not {value!r}.")
    return value


def _etag(body: dict) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:32]


def _resource(body: dict) -> tuple[int, dict, dict]:
    """Return a 200 response for one resource with its etag, which OCI sends on every get, create and update."""
    return 200, body, {"etag": _etag(body)}


def _paginate(items: list, query: dict) -> tuple[list, dict]:
    """Return one page of items and the `opc-next-page` header if more remain.

    NOTE: the page token is an offset into the sorted list, so an object created between two page
    calls can shift the results by one; OCI's tokens are opaque and may behave differently.
    """
    limit = query.get("limit")
    if limit is None:
        limit = MAX_PAGE_LIMIT
    else:
        try:
            limit = int(limit)
        except ValueError:
            raise errors.InvalidParameter(f"limit {limit!r} is not an integer.") from None
        if not 1 <= limit <= MAX_PAGE_LIMIT:
            raise errors.InvalidParameter(f"limit {limit} is out of range; use 1 to {MAX_PAGE_LIMIT}.")
    offset = 0
    token = query.get("page")
    if token:
        try:
            decoded = base64.urlsafe_b64decode(token.encode()).decode()
            offset = int(decoded.removeprefix("offset:")) if decoded.startswith("offset:") else -1
        except ValueError:
            offset = -1
        if offset < 0:
            raise errors.InvalidParameter(f"page {token!r} is not a page token returned by this list call.")
    page = items[offset:offset + limit]
    headers = {}
    if offset + limit < len(items):
        headers["opc-next-page"] = base64.urlsafe_b64encode(f"offset:{offset + limit}".encode()).decode()
    return page, headers


def _sort(items: list, query: dict, created, name) -> list:
    sort_by = query.get("sortBy", "TIMECREATED")
    if sort_by not in ("TIMECREATED", "DISPLAYNAME"):
        raise errors.InvalidParameter(f"sortBy {sort_by!r} is invalid; use TIMECREATED or DISPLAYNAME.")
    # OCI sorts TIMECREATED descending and DISPLAYNAME ascending unless sortOrder sets another order.
    default_order = "DESC" if sort_by == "TIMECREATED" else "ASC"
    sort_order = query.get("sortOrder", default_order)
    if sort_order not in ("ASC", "DESC"):
        raise errors.InvalidParameter(f"sortOrder {sort_order!r} is invalid; use ASC or DESC.")
    extractor = created if sort_by == "TIMECREATED" else (lambda item: (name(item).lower(), created(item)))
    return sorted(items, key=extractor, reverse=sort_order == "DESC")


class Backend:
    """All emulated OCI state and the operations on it."""

    def __init__(self, base_url: str = ""):
        self.base_url = base_url
        self.lock = threading.RLock()
        self.clock = Clock()
        self.settings = Settings()
        self.tenancies: dict[str, Tenancy] = {}
        self.vaults: dict[str, Vault] = {}
        self.retry_tokens: dict[tuple, tuple] = {}
        self.metrics: list[dict] = []
        self._seed_count = 0
        # Tests set this to draw wrapping keys from a process-wide pool instead of generating an
        # RSA-4096 key per vault, which takes about a second each.
        self.reuse_wrapping_keys = False
        self._vault_count = 0

    def add_vault(self, vault: Vault) -> None:
        """Store a new vault, giving it a pooled wrapping key when `reuse_wrapping_keys` is set."""
        if self.reuse_wrapping_keys:
            vault.wrapping_pool_index = self._vault_count
        self._vault_count += 1
        self.vaults[vault.id] = vault

    # ---- world and lookups ----

    @property
    def delay(self) -> float:
        return self.settings.lifecycle_delay_ms / 1000.0

    def tenancy_exists(self, tenancy_id: str) -> bool:
        return tenancy_id in self.tenancies

    def lookup_user_key(self, tenancy_id: str, user_id: str, fingerprint: str):
        with self.lock:
            tenancy = self.tenancies.get(tenancy_id)
            if tenancy is None:
                return None
            for user in tenancy.users:
                if user.id == user_id and user.fingerprint.lower() == fingerprint.lower():
                    return serialization.load_pem_public_key(user.public_key_pem.encode("ascii"))
        return None

    def check_compartment(self, principal: Principal, compartment_id: str, field_name: str = "compartmentId") -> None:
        tenancy = self.tenancies.get(principal.tenancy_id)
        if tenancy is None or (compartment_id != tenancy.id and compartment_id not in tenancy.compartments):
            raise errors.NotAuthorizedOrNotFound(
                f"{field_name} {compartment_id} was not found in the caller's tenancy, or the caller is not authorized."
            )

    def _vault_by_suffix(self, call: Call) -> Vault:
        for vault in self.vaults.values():
            if vault.suffix == call.vault_suffix and vault.tenancy_id == call.principal.tenancy_id:
                return vault
        raise errors.NotAuthorizedOrNotFound(
            f"Vault endpoint {call.vault_suffix} was not found, or the caller is not authorized to use it."
        )

    def _vault_in_region(self, call: Call, vault_id: str) -> Vault:
        vault = self.vaults.get(vault_id)
        if vault is None or vault.region != call.region or vault.tenancy_id != call.principal.tenancy_id:
            raise errors.NotAuthorizedOrNotFound(
                f"Vault {vault_id} was not found in region {call.region}, or the caller is not authorized."
            )
        return vault

    def _key(self, vault: Vault, key_id: str) -> Key:
        key = vault.keys.get(key_id)
        if key is None:
            raise errors.NotAuthorizedOrNotFound(f"Key {key_id} was not found in vault {vault.id}, or the caller is not authorized.")
        return key

    @staticmethod
    def _version(key: Key, key_version_id: str) -> KeyVersion:
        for version in key.versions:
            if version.id == key_version_id:
                return version
        raise errors.NotAuthorizedOrNotFound(f"Key version {key_version_id} of key {key.id} was not found.")

    def _usable_vault(self, call: Call, require_active: bool) -> Vault:
        """Return the vault behind a management or crypto endpoint.

        Reads work on a vault in any state but CREATING; writes and crypto calls need it ACTIVE,
        because OCI stops using the keys of a vault that is pending deletion.
        """
        vault = self._vault_by_suffix(call)
        state = vault.lifecycle.resolve(time.time())
        if state == "CREATING" or (require_active and state != "ACTIVE"):
            raise errors.IncorrectState(f"Vault {vault.id} is {state}; wait until it is ACTIVE.")
        return vault

    def _resolve_deletions(self, now: float) -> None:
        """Move keys and versions whose scheduled deletion time has passed to DELETED."""
        for vault in self.vaults.values():
            if vault.time_of_deletion and now >= vault.time_of_deletion:
                vault.lifecycle = Lifecycle("DELETED")
            for key in vault.keys.values():
                if key.time_of_deletion and now >= key.time_of_deletion and key.lifecycle.resolve(now) == "PENDING_DELETION":
                    key.lifecycle = Lifecycle("DELETED")
                for version in key.versions:
                    if (version.time_of_deletion and now >= version.time_of_deletion
                            and version.lifecycle.resolve(now) == "PENDING_DELETION"):
                        version.lifecycle = Lifecycle("DELETED")

    # ---- seeding ----

    def add_world(self, seed: dict) -> dict:
        """Add tenancies, users, vaults and keys from a seed object; return the OCIDs created."""
        from .seed import apply_seed

        with self.lock:
            return apply_seed(self, seed)

    def secret_material(self) -> list[bytes]:
        """Return every key material and wrapping private key held, for secret scans in tests."""
        with self.lock:
            secrets_found = []
            for vault in self.vaults.values():
                if vault.wrapping_key_der:
                    secrets_found.append(vault.wrapping_key_der)
                for key in vault.keys.values():
                    secrets_found.extend(version.material for version in key.versions if version.material)
            return secrets_found

    # ---- vault control plane (KmsVaultClient) ----

    def create_vault(self, call: Call):
        body = call.body
        compartment_id = _require(body, "compartmentId")
        display_name = _require(body, "displayName")
        vault_type = _require(body, "vaultType")
        if vault_type not in VAULT_TYPES:
            raise errors.InvalidParameter(
                f"vaultType {vault_type!r} is not supported by the emulator; use DEFAULT or VIRTUAL_PRIVATE."
            )
        self.check_compartment(call.principal, compartment_id)
        now = self.clock.next()
        lifecycle = Lifecycle("ACTIVE")
        lifecycle.move("CREATING", "ACTIVE", now, self.delay)
        vault = new_vault(call.principal.tenancy_id, compartment_id, call.region, display_name, vault_type, self.clock,
                          lifecycle, freeform_tags=_tags(body, "freeformTags"), defined_tags=_tags(body, "definedTags"))
        self.add_vault(vault)
        return _resource(vault_wire(vault, self.base_url, now))

    def get_vault(self, call: Call):
        now = time.time()
        self._resolve_deletions(now)
        vault = self._vault_in_region(call, call.path_params["vaultId"])
        body = vault_wire(vault, self.base_url, now)
        return 200, body, {"etag": _etag(body)}

    def list_vaults(self, call: Call):
        compartment_id = call.query.get("compartmentId")
        if not compartment_id:
            raise errors.MissingParameter("compartmentId is required.")
        self.check_compartment(call.principal, compartment_id)
        now = time.time()
        self._resolve_deletions(now)
        found = [v for v in self.vaults.values() if v.region == call.region and v.compartment_id == compartment_id]
        found = _sort(found, call.query, lambda v: v.time_created, lambda v: v.display_name)
        page, headers = _paginate(found, call.query)
        return 200, [vault_wire(v, self.base_url, now, summary=True) for v in page], headers

    def get_vault_usage(self, call: Call):
        vault = self._vault_in_region(call, call.path_params["vaultId"])
        now = time.time()
        self._resolve_deletions(now)
        usage = {"keyCount": 0, "keyVersionCount": 0, "softwareKeyCount": 0, "softwareKeyVersionCount": 0}
        for key in vault.keys.values():
            if key.lifecycle.resolve(now) == "DELETED":
                continue
            versions = sum(1 for v in key.versions if v.lifecycle.resolve(now) != "DELETED")
            prefix = "software" if key.protection_mode == "SOFTWARE" else None
            if prefix:
                usage["softwareKeyCount"] += 1
                usage["softwareKeyVersionCount"] += versions
            else:
                usage["keyCount"] += 1
                usage["keyVersionCount"] += versions
        return 200, usage, {}

    def _deletion_time(self, body: dict, now: float) -> float:
        value = body.get("timeOfDeletion")
        if value is None:
            return now + MAX_DELETION_DAYS * 86400
        when = parse_time(value, "timeOfDeletion")
        if not now + MIN_DELETION_DAYS * 86400 - 60 <= when <= now + MAX_DELETION_DAYS * 86400 + 60:
            raise errors.InvalidParameter(
                f"timeOfDeletion {value} must be between {MIN_DELETION_DAYS} and {MAX_DELETION_DAYS} days from now."
            )
        return when

    def schedule_vault_deletion(self, call: Call):
        vault = self._vault_in_region(call, call.path_params["vaultId"])
        now = time.time()
        self._check_if_match(call, vault_wire(vault, self.base_url, now))
        state = vault.lifecycle.resolve(now)
        if state != "ACTIVE":
            raise errors.IncorrectState(f"Vault {vault.id} is {state}; only an ACTIVE vault can be scheduled for deletion.")
        vault.time_of_deletion = self._deletion_time(call.body, now)
        vault.lifecycle.move("SCHEDULING_DELETION", "PENDING_DELETION", now, self.delay)
        return _resource(vault_wire(vault, self.base_url, now))

    def cancel_vault_deletion(self, call: Call):
        vault = self._vault_in_region(call, call.path_params["vaultId"])
        now = time.time()
        self._check_if_match(call, vault_wire(vault, self.base_url, now))
        state = vault.lifecycle.resolve(now)
        if state != "PENDING_DELETION":
            raise errors.IncorrectState(f"Vault {vault.id} is {state}; only a PENDING_DELETION vault can be restored.")
        vault.time_of_deletion = None
        vault.lifecycle.move("CANCELLING_DELETION", "ACTIVE", now, self.delay)
        return _resource(vault_wire(vault, self.base_url, now))

    # ---- key management (KmsManagementClient) ----

    def _key_shape(self, body: dict) -> tuple[str, int, str | None]:
        shape = _require(body, "keyShape", dict)
        algorithm = _require(shape, "algorithm", str, "keyShape.")
        length = _require(shape, "length", int, "keyShape.")
        curve_id = shape.get("curveId")
        if algorithm == "AES" and length not in crypto.AES_LENGTHS:
            raise errors.InvalidParameter(f"keyShape.length {length} is invalid for AES; use 16, 24 or 32 bytes.")
        elif algorithm == "RSA" and length not in crypto.RSA_LENGTHS:
            raise errors.InvalidParameter(f"keyShape.length {length} is invalid for RSA; use 256, 384 or 512 bytes.")
        elif algorithm == "ECDSA":
            if curve_id not in crypto.CURVES:
                raise errors.InvalidParameter(f"keyShape.curveId {curve_id!r} is invalid for ECDSA; use NIST_P256, NIST_P384 or NIST_P521.")
            if crypto.CURVES[curve_id][1] != length:
                raise errors.InvalidParameter(
                    f"keyShape.length {length} does not match curve {curve_id}; use {crypto.CURVES[curve_id][1]}."
                )
        elif algorithm not in ("AES", "RSA", "ECDSA"):
            raise errors.InvalidParameter(f"keyShape.algorithm {algorithm!r} is invalid; use AES, RSA or ECDSA.")
        if algorithm != "ECDSA" and curve_id is not None:
            raise errors.InvalidParameter(f"keyShape.curveId applies to ECDSA keys only, not {algorithm}.")
        return algorithm, length, curve_id

    def _new_key(self, vault: Vault, body: dict, principal: Principal, algorithm, length, curve_id, protection_mode,
                 origin: str, material: bytes | None) -> Key:
        compartment_id = _require(body, "compartmentId")
        display_name = _require(body, "displayName")
        self.check_compartment(principal, compartment_id)
        now = self.clock.next()
        key_lifecycle = Lifecycle("ENABLED")
        key_lifecycle.move("CREATING", "ENABLED", now, self.delay)
        key = Key(
            id=ocids.new_key_id(vault.region, vault.suffix),
            vault_id=vault.id,
            compartment_id=compartment_id,
            display_name=display_name,
            algorithm=algorithm,
            length=length,
            curve_id=curve_id,
            protection_mode=protection_mode,
            time_created=now,
            lifecycle=key_lifecycle,
            freeform_tags=dict(_tags(body, "freeformTags") or {}),
            defined_tags=dict(_tags(body, "definedTags") or {}),
            is_auto_rotation_enabled=bool(body.get("isAutoRotationEnabled", False)),
            auto_key_rotation_details=body.get("autoKeyRotationDetails"),
        )
        self._add_version(vault, key, origin, material, now)
        vault.keys[key.id] = key
        return key

    def _add_version(self, vault: Vault, key: Key, origin: str, material: bytes | None, now: float | None = None) -> KeyVersion:
        created = now if now is not None else self.clock.next()
        lifecycle = Lifecycle("ENABLED")
        lifecycle.move("CREATING", "ENABLED", created, self.delay)
        version = KeyVersion(
            id=ocids.new_key_version_id(vault.region, vault.suffix),
            key_id=key.id,
            vault_id=vault.id,
            compartment_id=key.compartment_id,
            time_created=created,
            origin=origin,
            lifecycle=lifecycle,
            material=material,
        )
        key.versions.append(version)
        key.current_version_id = version.id
        return version

    def create_key(self, call: Call):
        vault = self._usable_vault(call, require_active=True)
        algorithm, length, curve_id = self._key_shape(call.body)
        protection_mode = call.body.get("protectionMode", "HSM")
        if protection_mode == "EXTERNAL":
            # NOTE: the emulator has no external key manager, so EXTERNAL keys cannot be created.
            raise errors.InvalidParameter("protectionMode EXTERNAL needs an external key manager, which the emulator does not have.")
        if protection_mode not in PROTECTION_MODES:
            raise errors.InvalidParameter(f"protectionMode {protection_mode!r} is invalid; use HSM or SOFTWARE.")
        material = crypto.new_material(algorithm, length, curve_id)
        key = self._new_key(vault, call.body, call.principal, algorithm, length, curve_id, protection_mode, "INTERNAL", material)
        return _resource(key_wire(key, time.time()))

    def get_key(self, call: Call):
        vault = self._usable_vault(call, require_active=False)
        now = time.time()
        self._resolve_deletions(now)
        key = self._key(vault, call.path_params["keyId"])
        body = key_wire(key, now)
        return 200, body, {"etag": _etag(body)}

    def list_keys(self, call: Call):
        vault = self._usable_vault(call, require_active=False)
        query = call.query
        compartment_id = query.get("compartmentId")
        if not compartment_id:
            raise errors.MissingParameter("compartmentId is required.")
        self.check_compartment(call.principal, compartment_id)
        now = time.time()
        self._resolve_deletions(now)
        keys = [k for k in vault.keys.values() if k.compartment_id == compartment_id]
        filters = {"protectionMode": "protection_mode", "algorithm": "algorithm", "curveId": "curve_id"}
        for param, attribute in filters.items():
            if query.get(param):
                keys = [k for k in keys if getattr(k, attribute) == query[param]]
        if query.get("length"):
            try:
                length = int(query["length"])
            except ValueError:
                raise errors.InvalidParameter(f"length {query['length']!r} is not an integer.") from None
            keys = [k for k in keys if k.length == length]
        keys = _sort(keys, query, lambda k: k.time_created, lambda k: k.display_name)
        page, headers = _paginate(keys, query)
        return 200, [key_wire(k, now, summary=True) for k in page], headers

    def _check_if_match(self, call: Call, body: dict) -> None:
        expected = call.headers.get("if-match")
        if expected and expected != _etag(body):
            raise errors.NoEtagMatch(f"The if-match etag {expected} does not match the current etag of the resource.")

    def update_key(self, call: Call):
        vault = self._usable_vault(call, require_active=True)
        key = self._key(vault, call.path_params["keyId"])
        now = time.time()
        self._check_if_match(call, key_wire(key, now))
        state = key.lifecycle.resolve(now)
        if state not in ("ENABLED", "DISABLED"):
            raise errors.IncorrectState(f"Key {key.id} is {state}; only ENABLED or DISABLED keys can be updated.")
        body = call.body
        if "displayName" in body:
            key.display_name = _require(body, "displayName")
        if "freeformTags" in body:
            key.freeform_tags = dict(_tags(body, "freeformTags") or {})
        if "definedTags" in body:
            key.defined_tags = dict(_tags(body, "definedTags") or {})
        if "isAutoRotationEnabled" in body:
            # NOTE: auto-rotation is recorded but the emulator never rotates a key by itself.
            key.is_auto_rotation_enabled = bool(body["isAutoRotationEnabled"])
        if "autoKeyRotationDetails" in body:
            key.auto_key_rotation_details = body["autoKeyRotationDetails"]
        # NOTE: OCI passes through UPDATING; the emulator applies an update at once.
        return _resource(key_wire(key, now))

    def _toggle_key(self, call: Call, source: str, transitional: str, target: str):
        vault = self._usable_vault(call, require_active=True)
        key = self._key(vault, call.path_params["keyId"])
        now = time.time()
        self._check_if_match(call, key_wire(key, now))
        state = key.lifecycle.resolve(now)
        if state != source:
            raise errors.IncorrectState(f"Key {key.id} is {state}; it must be {source} for this operation.")
        key.lifecycle.move(transitional, target, now, self.delay)
        return _resource(key_wire(key, now))

    def enable_key(self, call: Call):
        return self._toggle_key(call, "DISABLED", "ENABLING", "ENABLED")

    def disable_key(self, call: Call):
        return self._toggle_key(call, "ENABLED", "DISABLING", "DISABLED")

    def schedule_key_deletion(self, call: Call):
        vault = self._usable_vault(call, require_active=True)
        key = self._key(vault, call.path_params["keyId"])
        now = time.time()
        self._check_if_match(call, key_wire(key, now))
        state = key.lifecycle.resolve(now)
        if state not in ("ENABLED", "DISABLED"):
            raise errors.IncorrectState(f"Key {key.id} is {state}; only ENABLED or DISABLED keys can be scheduled for deletion.")
        key.time_of_deletion = self._deletion_time(call.body, now)
        key.state_before_deletion = state
        key.lifecycle.move("SCHEDULING_DELETION", "PENDING_DELETION", now, self.delay)
        return _resource(key_wire(key, now))

    def cancel_key_deletion(self, call: Call):
        vault = self._usable_vault(call, require_active=True)
        key = self._key(vault, call.path_params["keyId"])
        now = time.time()
        self._check_if_match(call, key_wire(key, now))
        state = key.lifecycle.resolve(now)
        if state != "PENDING_DELETION":
            raise errors.IncorrectState(f"Key {key.id} is {state}; only a PENDING_DELETION key can be restored.")
        key.time_of_deletion = None
        key.lifecycle.move("CANCELLING_DELETION", key.state_before_deletion or "ENABLED", now, self.delay)
        return _resource(key_wire(key, now))

    def create_key_version(self, call: Call):
        vault = self._usable_vault(call, require_active=True)
        key = self._key(vault, call.path_params["keyId"])
        now = time.time()
        state = key.lifecycle.resolve(now)
        if state != "ENABLED":
            raise errors.IncorrectState(f"Key {key.id} is {state}; only an ENABLED key can be rotated.")
        if key.protection_mode == "EXTERNAL":
            raise errors.InvalidParameter("Keys with protectionMode EXTERNAL cannot be rotated here.")
        version = self._add_version(vault, key, "INTERNAL", crypto.new_material(key.algorithm, key.length, key.curve_id))
        return _resource(key_version_wire(key, version, now))

    def list_key_versions(self, call: Call):
        vault = self._usable_vault(call, require_active=False)
        key = self._key(vault, call.path_params["keyId"])
        now = time.time()
        self._resolve_deletions(now)
        versions = _sort(list(key.versions), call.query, lambda v: v.time_created, lambda v: v.id)
        page, headers = _paginate(versions, call.query)
        return 200, [key_version_wire(key, v, now, summary=True) for v in page], headers

    def get_key_version(self, call: Call):
        vault = self._usable_vault(call, require_active=False)
        key = self._key(vault, call.path_params["keyId"])
        now = time.time()
        self._resolve_deletions(now)
        version = self._version(key, call.path_params["keyVersionId"])
        body = key_version_wire(key, version, now)
        return 200, body, {"etag": _etag(body)}

    def schedule_key_version_deletion(self, call: Call):
        vault = self._usable_vault(call, require_active=True)
        key = self._key(vault, call.path_params["keyId"])
        version = self._version(key, call.path_params["keyVersionId"])
        now = time.time()
        self._check_if_match(call, key_version_wire(key, version, now))
        state = version.lifecycle.resolve(now)
        if version.id == key.current_version_id:
            raise errors.IncorrectState(f"Key version {version.id} is the current version of key {key.id}; rotate the key first.")
        if state not in ("ENABLED", "DISABLED"):
            raise errors.IncorrectState(f"Key version {version.id} is {state}; only ENABLED or DISABLED versions can be scheduled for deletion.")
        version.time_of_deletion = self._deletion_time(call.body, now)
        version.state_before_deletion = state
        version.lifecycle.move("SCHEDULING_DELETION", "PENDING_DELETION", now, self.delay)
        return _resource(key_version_wire(key, version, now))

    def cancel_key_version_deletion(self, call: Call):
        vault = self._usable_vault(call, require_active=True)
        key = self._key(vault, call.path_params["keyId"])
        version = self._version(key, call.path_params["keyVersionId"])
        now = time.time()
        self._check_if_match(call, key_version_wire(key, version, now))
        state = version.lifecycle.resolve(now)
        if state != "PENDING_DELETION":
            raise errors.IncorrectState(f"Key version {version.id} is {state}; only a PENDING_DELETION version can be restored.")
        version.time_of_deletion = None
        version.lifecycle.move("CANCELLING_DELETION", version.state_before_deletion or "ENABLED", now, self.delay)
        return _resource(key_version_wire(key, version, now))

    def get_wrapping_key(self, call: Call):
        vault = self._usable_vault(call, require_active=False)
        body = {
            "compartmentId": vault.compartment_id,
            "id": vault.wrapping_key_id,
            "lifecycleState": "ENABLED",
            "publicKey": crypto.public_key_pem(vault.wrapping_private_key().public_key()),
            "timeCreated": format_time(vault.wrapping_key_time_created),
            "vaultId": vault.id,
        }
        return 200, body, {"etag": _etag(body)}

    def _unwrap_import(self, vault: Vault, body: dict) -> bytes:
        wrapped = _require(body, "wrappedImportKey", dict)
        algorithm = _require(wrapped, "wrappingAlgorithm", str, "wrappedImportKey.")
        blob = crypto.b64decode_field(_require(wrapped, "keyMaterial", str, "wrappedImportKey."), "wrappedImportKey.keyMaterial")
        return crypto.unwrap_material(vault.wrapping_private_key(), algorithm, blob)

    def import_key(self, call: Call):
        vault = self._usable_vault(call, require_active=True)
        algorithm, length, curve_id = self._key_shape(call.body)
        protection_mode = call.body.get("protectionMode", "HSM")
        if protection_mode not in ("HSM", "SOFTWARE"):
            raise errors.InvalidParameter(f"protectionMode {protection_mode!r} cannot be imported; use HSM or SOFTWARE.")
        if algorithm == "ECDSA":
            raise errors.InvalidParameter("Import of ECDSA keys is not supported; only AES and RSA keys can be imported.")
        _require(call.body, "compartmentId")
        _require(call.body, "displayName")
        material = self._unwrap_import(vault, call.body)
        crypto.check_import_material(algorithm, length, curve_id, material)
        key = self._new_key(vault, call.body, call.principal, algorithm, length, curve_id, protection_mode, "EXTERNAL", material)
        return _resource(key_wire(key, time.time()))

    def import_key_version(self, call: Call):
        vault = self._usable_vault(call, require_active=True)
        key = self._key(vault, call.path_params["keyId"])
        now = time.time()
        state = key.lifecycle.resolve(now)
        if state != "ENABLED":
            raise errors.IncorrectState(f"Key {key.id} is {state}; a key version can be imported only into an ENABLED key.")
        if key.algorithm == "RSA" and self.settings.reject_rsa_import_key_version:
            # NOTE: whether OCI accepts ImportKeyVersion for RSA keys is unverified. This switch
            # (off by default) responds as a rejecting service would.
            raise errors.InvalidParameter(f"Key {key.id} is an RSA key; importing a key version is supported only for AES keys.")
        if key.algorithm == "ECDSA":
            raise errors.InvalidParameter("Import of ECDSA keys is not supported; only AES and RSA keys can be imported.")
        material = self._unwrap_import(vault, call.body)
        crypto.check_import_material(key.algorithm, key.length, key.curve_id, material)
        version = self._add_version(vault, key, "EXTERNAL", material)
        return _resource(key_version_wire(key, version, now))

    # ---- crypto (KmsCryptoClient) ----

    def _crypto_version(self, vault: Vault, body: dict, for_export: bool = False) -> tuple[Key, KeyVersion]:
        key = self._key(vault, _require(body, "keyId"))
        now = time.time()
        self._resolve_deletions(now)
        key_state = key.lifecycle.resolve(now)
        allowed = ("ENABLED", "DISABLED") if for_export and not self.settings.deny_export_of_disabled_keys else ("ENABLED",)
        if key_state not in allowed:
            raise errors.IncorrectState(f"Key {key.id} is {key_state}; it must be {' or '.join(allowed)} for this operation.")
        key_version_id = body.get("keyVersionId") or key.current_version_id
        version = self._version(key, key_version_id)
        version_state = version.lifecycle.resolve(now)
        if version_state != "ENABLED":
            raise errors.IncorrectState(f"Key version {version.id} is {version_state}; it must be ENABLED for this operation.")
        return key, version

    def export_key(self, call: Call):
        vault = self._usable_vault(call, require_active=True)
        body = call.body
        algorithm = _require(body, "algorithm")
        public_key = crypto.load_caller_public_key(_require(body, "publicKey"), "publicKey")
        key, version = self._crypto_version(vault, body, for_export=True)
        if key.protection_mode != "SOFTWARE":
            # NOTE: OCI rejects export of HSM and EXTERNAL keys, but its exact error code is
            # unverified, so the emulator uses 400 InvalidParameter.
            raise errors.InvalidParameter(
                f"Key {key.id} has protectionMode {key.protection_mode}; only SOFTWARE keys can be exported."
            )
        blob = crypto.wrap_material(public_key, algorithm, version_material(key, version))
        result = {
            "keyVersionId": version.id,
            "keyId": key.id,
            "timeCreated": format_time(version.time_created),
            "vaultId": vault.id,
            "encryptedKey": crypto.b64encode(blob),
            "algorithm": algorithm,
        }
        return 200, result, {}

    def encrypt(self, call: Call):
        vault = self._usable_vault(call, require_active=True)
        body = call.body
        key, version = self._crypto_version(vault, body)
        plaintext = crypto.b64decode_field(_require(body, "plaintext"), "plaintext")
        crypto.check_associated_data(body.get("associatedData"))
        material = version_material(key, version)
        if key.algorithm == "AES":
            algorithm = body.get("encryptionAlgorithm") or "AES_256_GCM"
            if algorithm != "AES_256_GCM":
                raise errors.InvalidParameter(f"encryptionAlgorithm {algorithm} does not fit an AES key; use AES_256_GCM.")
            ciphertext = crypto.aes_encrypt(material, version.id, plaintext, body.get("associatedData"))
        elif key.algorithm == "RSA":
            algorithm = body.get("encryptionAlgorithm") or "RSA_OAEP_SHA_256"
            if algorithm not in ("RSA_OAEP_SHA_1", "RSA_OAEP_SHA_256"):
                raise errors.InvalidParameter(f"encryptionAlgorithm {algorithm} does not fit an RSA key; use RSA_OAEP_SHA_256.")
            ciphertext = crypto.rsa_encrypt(material, algorithm, plaintext)
        else:
            raise errors.InvalidParameter("ECDSA keys cannot encrypt; use an AES or RSA key.")
        result = {"ciphertext": crypto.b64encode(ciphertext), "keyId": key.id, "keyVersionId": version.id,
                  "encryptionAlgorithm": algorithm}
        return 200, result, {}

    def decrypt(self, call: Call):
        vault = self._usable_vault(call, require_active=True)
        body = call.body
        key = self._key(vault, _require(body, "keyId"))
        ciphertext = crypto.b64decode_field(_require(body, "ciphertext"), "ciphertext")
        crypto.check_associated_data(body.get("associatedData"))
        if key.algorithm == "AES":
            algorithm = body.get("encryptionAlgorithm") or "AES_256_GCM"
            version_id = crypto.aes_ciphertext_version(ciphertext)
            if not any(v.id == version_id for v in key.versions):
                raise errors.InvalidParameter(f"ciphertext was not made by key {key.id}; decrypt with the key that encrypted it.")
            key, version = self._crypto_version(vault, {"keyId": key.id, "keyVersionId": version_id})
            plaintext = crypto.aes_decrypt(version_material(key, version), ciphertext, body.get("associatedData"))
        elif key.algorithm == "RSA":
            algorithm = body.get("encryptionAlgorithm") or "RSA_OAEP_SHA_256"
            key, version = self._crypto_version(vault, body)
            plaintext = crypto.rsa_decrypt(version_material(key, version), algorithm, ciphertext)
        else:
            raise errors.InvalidParameter("ECDSA keys cannot decrypt; use an AES or RSA key.")
        import hashlib

        checksum = str(int.from_bytes(hashlib.sha256(plaintext).digest()[:4], "big"))
        result = {"plaintext": crypto.b64encode(plaintext), "plaintextChecksum": checksum, "keyId": key.id,
                  "keyVersionId": version.id, "encryptionAlgorithm": algorithm}
        return 200, result, {}

    def sign(self, call: Call):
        vault = self._usable_vault(call, require_active=True)
        body = call.body
        key, version = self._crypto_version(vault, body)
        signing_algorithm = _require(body, "signingAlgorithm")
        message = crypto.b64decode_field(_require(body, "message"), "message")
        message_type = body.get("messageType") or "RAW"
        signature = crypto.sign(version_material(key, version), key.algorithm, signing_algorithm, message_type, message)
        result = {"keyId": key.id, "keyVersionId": version.id, "signature": crypto.b64encode(signature),
                  "signingAlgorithm": signing_algorithm}
        return 200, result, {}

    def verify(self, call: Call):
        vault = self._usable_vault(call, require_active=True)
        body = call.body
        key, version = self._crypto_version(vault, body)
        signing_algorithm = _require(body, "signingAlgorithm")
        message = crypto.b64decode_field(_require(body, "message"), "message")
        signature = crypto.b64decode_field(_require(body, "signature"), "signature")
        message_type = body.get("messageType") or "RAW"
        valid = crypto.verify(version_material(key, version), key.algorithm, signing_algorithm, message_type, message, signature)
        return 200, {"isSignatureValid": valid}, {}

    # ---- Monitoring ingestion ----

    def post_metric_data(self, call: Call):
        from .monitoring import accept_metric_data

        return accept_metric_data(self, call)

    # ---- retry tokens ----

    def replay(self, call: Call, token: str, body_digest: str):
        """Return the stored response for a repeated retry token, or None for a new token."""
        stored = self.retry_tokens.get((call.principal.tenancy_id, call.operation, token))
        if stored is None:
            return None
        if stored[0] != body_digest:
            raise errors.InvalidatedRetryToken(
                f"opc-retry-token {token} was already used with a different request; use a new token for a new request."
            )
        return copy.deepcopy(stored[1])

    def remember(self, call: Call, token: str, body_digest: str, response) -> None:
        self.retry_tokens[(call.principal.tenancy_id, call.operation, token)] = (body_digest, copy.deepcopy(response))
