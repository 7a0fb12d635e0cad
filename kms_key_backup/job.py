"""The job: what to copy, from where, to where, and how.

A job is a JSON object with snake_case fields; ``docs/job.md`` documents it and contains a copy of
``JOB_SCHEMA`` that a test keeps equal to this one. ``parse_job`` checks a mapping against
``JOB_SCHEMA`` (types, enums, patterns, required and unknown fields) and then against the rules a
schema cannot express (known regions, OCIDs of the right resource type and region, exclusive
options). It raises ``InvalidInputError`` naming the field, the value and the fix, and it makes
no API call.
"""

from __future__ import annotations

import copy
import math
import re
import string
from dataclasses import dataclass, field
from typing import Any, Mapping

from kms_key_backup.errors import InvalidInputError
from kms_key_backup.ocid import is_known_region, parse_ocid, realm_of_region

WRAPPING_ALGORITHMS = ("RSA_OAEP_AES_SHA256", "RSA_OAEP_SHA256")
PROTECTION_MODES = ("SOFTWARE", "HSM")
VERSION_MODES = ("all", "current", "explicit")
TEMPLATE_FIELDS = ("display_name", "source_key_id", "source_region", "source_vault_id")
MAX_CONCURRENCY = 32
# The calls of one key wait on one another, so with about 100 ms per call a key makes under 10
# calls a second. On the emulator at 100 ms per call and 10 requests/s per category, a full sync
# of 100 keys x 3 versions took 1.2 to 1.3 times its throttle bound with 4 keys at once and 1.02
# times with 8 (make bench). The client-side rate limit keeps more keys from causing 429s.
DEFAULT_CONCURRENCY = 8

_REGION = {"type": "string", "pattern": "^[a-z]+-[a-z]+-[0-9]+$",
           "description": "an OCI region identifier such as eu-frankfurt-1"}
_VAULT_ID = {"type": "string", "pattern": "^ocid1\\.vault\\.",
             "description": "the OCID of a vault, ocid1.vault.<realm>.<region>..."}
_COMPARTMENT_ID = {"type": "string", "pattern": "^ocid1\\.(compartment|tenancy)\\.",
                   "description": "the OCID of a compartment (or of the tenancy, its root compartment)"}
_KEY_ID = {"type": "string", "pattern": "^ocid1\\.key\\.", "description": "the OCID of a key"}
_KEY_VERSION_ID = {"type": "string", "pattern": "^ocid1\\.keyversion\\.",
                   "description": "the OCID of a key version"}
_NAME = {"type": "string", "minLength": 1, "maxLength": 255, "description": "a key display name"}


def _string_list(item: dict, description: str) -> dict:
    return {"type": "array", "items": item, "uniqueItems": True, "default": [], "description": description}


JOB_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "kms-key-backup job",
    "type": "object",
    "additionalProperties": False,
    "required": ["source", "targets"],
    "properties": {
        "source": {
            "type": "object",
            "additionalProperties": False,
            "required": ["region", "vault_id"],
            "description": "the vault whose keys are copied",
            "properties": {
                "region": _REGION,
                "vault_id": _VAULT_ID,
                "compartment_ids": _string_list(
                    _COMPARTMENT_ID,
                    "compartments searched for keys; empty means the vault's own compartment"),
            },
        },
        "targets": {
            "type": "array",
            "minItems": 1,
            "description": "one or more vaults that receive the copies",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["region", "vault_id", "compartment_id"],
                "properties": {
                    "region": _REGION,
                    "vault_id": _VAULT_ID,
                    "compartment_id": _COMPARTMENT_ID,
                    "protection_mode": {"type": "string", "enum": list(PROTECTION_MODES), "default": "SOFTWARE",
                                        "description": "protection mode of the copies"},
                    "display_name_template": {
                        "type": "string", "minLength": 1, "maxLength": 255, "default": "{display_name}",
                        "description": "display name of a new copy; fields: " + ", ".join(
                            "{" + name + "}" for name in TEMPLATE_FIELDS)},
                },
            },
        },
        "selection": {
            "type": "object",
            "additionalProperties": False,
            "default": {},
            "description": "which source keys to copy; nothing set means every software key",
            "properties": {
                "key_ids": _string_list(_KEY_ID, "keys to copy, by OCID"),
                "display_names": _string_list(_NAME, "keys to copy, by display name"),
                "freeform_tags": {"type": "object", "additionalProperties": {"type": "string"}, "default": {},
                                  "description": "freeform tags a key must carry, all of them, to be copied"},
                "all_software_keys": {"type": "boolean", "default": False,
                                      "description": "copy every software key of the vault"},
                "exclude_key_ids": _string_list(_KEY_ID, "keys never to copy, by OCID"),
                "exclude_display_names": _string_list(_NAME, "keys never to copy, by display name"),
            },
        },
        "versions": {
            "type": "object",
            "additionalProperties": False,
            "default": {},
            "description": "which versions of each selected key to copy",
            "properties": {
                "mode": {"type": "string", "enum": list(VERSION_MODES), "default": "all",
                         "description": "all versions, the current version only, or the listed version_ids"},
                "version_ids": _string_list(_KEY_VERSION_ID, "versions to copy when mode is explicit"),
            },
        },
        "options": {
            "type": "object",
            "additionalProperties": False,
            "default": {},
            "description": "how the run behaves",
            "properties": {
                "dry_run": {"type": "boolean", "default": False,
                            "description": "plan only: read both vaults, export and import nothing"},
                "deep_verify": {"type": "boolean", "default": False,
                                "description": "also compare key material digests of source and copy"},
                "wrapping_algorithm": {"type": "string", "enum": list(WRAPPING_ALGORITHMS),
                                       "default": "RSA_OAEP_AES_SHA256",
                                       "description": "algorithm of the export under the target wrapping key"},
                "concurrency": {"type": "integer", "minimum": 1, "maximum": MAX_CONCURRENCY, "default": DEFAULT_CONCURRENCY,
                                "description": "keys copied at once"},
                "deadline_seconds": {"type": ["integer", "null"], "minimum": 1, "default": None,
                                     "description": "stop starting new work this many seconds after the start"},
                "requests_per_second": {"type": "number", "minimum": 0.1, "maximum": 1000, "default": 10,
                                        "description": "client-side limit of OCI calls per second, per region "
                                                       "and call category"},
            },
        },
    },
}


@dataclass(frozen=True)
class Source:
    region: str
    vault_id: str
    compartment_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Target:
    region: str
    vault_id: str
    compartment_id: str
    protection_mode: str = "SOFTWARE"
    display_name_template: str = "{display_name}"

    def display_name_for(self, display_name: str, source_key_id: str, source: Source) -> str:
        """Return the display name of a new copy of a source key."""
        return self.display_name_template.format(
            display_name=display_name, source_key_id=source_key_id,
            source_region=source.region, source_vault_id=source.vault_id)


@dataclass(frozen=True)
class Selection:
    key_ids: tuple[str, ...] = ()
    display_names: tuple[str, ...] = ()
    freeform_tags: Mapping[str, str] = field(default_factory=dict)
    all_software_keys: bool = False
    exclude_key_ids: tuple[str, ...] = ()
    exclude_display_names: tuple[str, ...] = ()

    @property
    def selects_everything(self) -> bool:
        """True when no key_ids, display_names or freeform_tags narrow the selection."""
        return not (self.key_ids or self.display_names or self.freeform_tags)

    def is_excluded(self, key_id: str, display_name: str) -> bool:
        return key_id in self.exclude_key_ids or display_name in self.exclude_display_names

    def matches(self, key_id: str, display_name: str, freeform_tags: Mapping[str, str] | None) -> bool:
        """Tell whether a key is selected, exclusions aside.

        A key matches when it is named by key_ids or display_names, or carries every tag of
        freeform_tags; with none of the three set, every key matches.
        """
        if self.selects_everything:
            return True
        if key_id in self.key_ids or display_name in self.display_names:
            return True
        if self.freeform_tags:
            tags = freeform_tags or {}
            return all(tags.get(name) == value for name, value in self.freeform_tags.items())
        return False


@dataclass(frozen=True)
class Versions:
    mode: str = "all"
    version_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Options:
    dry_run: bool = False
    deep_verify: bool = False
    wrapping_algorithm: str = "RSA_OAEP_AES_SHA256"
    concurrency: int = DEFAULT_CONCURRENCY
    deadline_seconds: int | None = None
    requests_per_second: float = 10.0


@dataclass(frozen=True)
class Job:
    source: Source
    targets: tuple[Target, ...]
    selection: Selection = field(default_factory=Selection)
    versions: Versions = field(default_factory=Versions)
    options: Options = field(default_factory=Options)

    def to_dict(self) -> dict:
        """Return the job as JSON-ready data in the shape ``parse_job`` reads."""
        return {
            "source": {"region": self.source.region, "vault_id": self.source.vault_id,
                       "compartment_ids": list(self.source.compartment_ids)},
            "targets": [{"region": t.region, "vault_id": t.vault_id, "compartment_id": t.compartment_id,
                         "protection_mode": t.protection_mode,
                         "display_name_template": t.display_name_template} for t in self.targets],
            "selection": {"key_ids": list(self.selection.key_ids),
                          "display_names": list(self.selection.display_names),
                          "freeform_tags": dict(self.selection.freeform_tags),
                          "all_software_keys": self.selection.all_software_keys,
                          "exclude_key_ids": list(self.selection.exclude_key_ids),
                          "exclude_display_names": list(self.selection.exclude_display_names)},
            "versions": {"mode": self.versions.mode, "version_ids": list(self.versions.version_ids)},
            "options": {"dry_run": self.options.dry_run, "deep_verify": self.options.deep_verify,
                        "wrapping_algorithm": self.options.wrapping_algorithm,
                        "concurrency": self.options.concurrency,
                        "deadline_seconds": self.options.deadline_seconds,
                        "requests_per_second": self.options.requests_per_second},
        }


def parse_job(data: Any) -> Job:
    """Validate a job mapping and return the ``Job``; raise ``InvalidInputError`` on the first problem."""
    document = copy.deepcopy(data)
    _check_schema(document, JOB_SCHEMA, "job")
    _apply_defaults(document, JOB_SCHEMA)

    source_data = document["source"]
    source = Source(region=source_data["region"], vault_id=source_data["vault_id"],
                    compartment_ids=tuple(source_data["compartment_ids"]))
    targets = tuple(Target(**target) for target in document["targets"])
    selection_data = document["selection"]
    selection = Selection(
        key_ids=tuple(selection_data["key_ids"]),
        display_names=tuple(selection_data["display_names"]),
        freeform_tags=dict(selection_data["freeform_tags"]),
        all_software_keys=selection_data["all_software_keys"],
        exclude_key_ids=tuple(selection_data["exclude_key_ids"]),
        exclude_display_names=tuple(selection_data["exclude_display_names"]),
    )
    versions = Versions(mode=document["versions"]["mode"], version_ids=tuple(document["versions"]["version_ids"]))
    options_data = document["options"]
    options = Options(**{**options_data, "requests_per_second": float(options_data["requests_per_second"])})
    job = Job(source=source, targets=targets, selection=selection, versions=versions, options=options)

    _check_rules(job)
    return job


# --- schema checks -------------------------------------------------------------------------------

_JSON_TYPES = {
    "object": dict, "array": list, "string": str, "boolean": bool, "null": type(None),
}


def _is_type(value: Any, type_name: str) -> bool:
    # bool is a subclass of int in Python, but JSON keeps them apart.
    if type_name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name == "number":
        # Python's json module reads NaN and Infinity, which JSON does not allow; NaN would also
        # pass every minimum and maximum check, because each comparison with it is false.
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return isinstance(value, _JSON_TYPES[type_name])


def _describe(schema: dict) -> str:
    return schema.get("description", "see docs/job.md")


def _check_schema(value: Any, schema: dict, path: str) -> None:
    types = schema.get("type")
    if types is not None:
        type_names = types if isinstance(types, list) else [types]
        if not any(_is_type(value, name) for name in type_names):
            raise InvalidInputError(path, value, f"expected {' or '.join(type_names)}",
                                    f"Set it to a JSON {' or '.join(type_names)}: {_describe(schema)}.")

    if "enum" in schema and value not in schema["enum"]:
        raise InvalidInputError(path, value, "not an allowed value",
                                f"Use one of {', '.join(map(str, schema['enum']))}.")

    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            raise InvalidInputError(path, value, "empty or too short", f"Set it to {_describe(schema)}.")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            raise InvalidInputError(path, value, f"longer than {schema['maxLength']} characters",
                                    "Shorten it.")
        if "pattern" in schema and re.search(schema["pattern"], value) is None:
            raise InvalidInputError(path, value, "malformed", f"Set it to {_describe(schema)}.")

    if _is_type(value, "number") and "minimum" in schema and value < schema["minimum"]:
        raise InvalidInputError(path, value, f"less than {schema['minimum']}",
                                f"Use a value from {schema['minimum']} to {schema.get('maximum', 'any')}.")
    if _is_type(value, "number") and "maximum" in schema and value > schema["maximum"]:
        raise InvalidInputError(path, value, f"greater than {schema['maximum']}",
                                f"Use a value from {schema.get('minimum', 'any')} to {schema['maximum']}.")

    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                raise InvalidInputError(f"{path}.{name}", None, "missing",
                                        f"Add {name}: {_describe(properties[name])}.")
        for name, item in value.items():
            item_path = f"{path}.{name}"
            if name in properties:
                _check_schema(item, properties[name], item_path)
            elif schema.get("additionalProperties") is False:
                allowed = ", ".join(sorted(properties))
                raise InvalidInputError(item_path, item, "unknown field",
                                        f"Remove it or fix its spelling; allowed fields: {allowed}.")
            elif isinstance(schema.get("additionalProperties"), dict):
                _check_schema(item, schema["additionalProperties"], item_path)

    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            raise InvalidInputError(path, value, f"needs at least {schema['minItems']} item(s)",
                                    f"Add {_describe(schema)}.")
        for index, item in enumerate(value):
            _check_schema(item, schema.get("items", {}), f"{path}[{index}]")
        if schema.get("uniqueItems"):
            seen = set()
            for index, item in enumerate(value):
                if item in seen:
                    raise InvalidInputError(f"{path}[{index}]", item, "listed twice", "Remove the duplicate.")
                seen.add(item)


def _apply_defaults(value: dict, schema: dict) -> None:
    for name, item_schema in schema.get("properties", {}).items():
        if name not in value and "default" in item_schema:
            value[name] = copy.deepcopy(item_schema["default"])
        if isinstance(value.get(name), dict) and item_schema.get("type") == "object":
            _apply_defaults(value[name], item_schema)
        if isinstance(value.get(name), list) and isinstance(item_schema.get("items"), dict):
            for item in value[name]:
                if isinstance(item, dict):
                    _apply_defaults(item, item_schema["items"])


# --- rules beyond the schema ---------------------------------------------------------------------

def _check_region(path: str, region: str) -> None:
    if not is_known_region(region):
        raise InvalidInputError(path, region, "not a region known to the OCI SDK",
                                "Use a region identifier such as eu-frankfurt-1 or eu-stockholm-1.")


def _check_ocid(path: str, value: str, resource_types: tuple[str, ...], region: str | None) -> None:
    ocid = parse_ocid(value)
    if ocid is None or ocid.resource_type not in resource_types:
        raise InvalidInputError(path, value, f"not a {' or '.join(resource_types)} OCID",
                                f"Copy the {resource_types[0]} OCID from the OCI console or CLI.")
    if region is not None and ocid.region and ocid.region != region:
        raise InvalidInputError(path, value, f"belongs to region {ocid.region}, not {region}",
                                "Give the region the resource lives in, or the OCID of a resource in that region.")
    if region is not None and realm_of_region(region) not in (None, ocid.realm):
        raise InvalidInputError(path, value, f"belongs to realm {ocid.realm}, but {region} is in "
                                f"{realm_of_region(region)}", "Use an OCID from the region's realm.")


def _check_rules(job: Job) -> None:
    _check_region("job.source.region", job.source.region)
    _check_ocid("job.source.vault_id", job.source.vault_id, ("vault",), job.source.region)
    for index, compartment_id in enumerate(job.source.compartment_ids):
        _check_ocid(f"job.source.compartment_ids[{index}]", compartment_id, ("compartment", "tenancy"),
                    job.source.region)

    seen_vaults = {job.source.vault_id: "job.source.vault_id"}
    for index, target in enumerate(job.targets):
        path = f"job.targets[{index}]"
        _check_region(f"{path}.region", target.region)
        _check_ocid(f"{path}.vault_id", target.vault_id, ("vault",), target.region)
        _check_ocid(f"{path}.compartment_id", target.compartment_id, ("compartment", "tenancy"), target.region)
        if target.vault_id in seen_vaults:
            raise InvalidInputError(f"{path}.vault_id", target.vault_id,
                                    f"already used by {seen_vaults[target.vault_id]}",
                                    "Give each target its own vault, different from the source vault.")
        seen_vaults[target.vault_id] = f"{path}.vault_id"
        _check_template(f"{path}.display_name_template", target.display_name_template)

    selection = job.selection
    for name in ("key_ids", "exclude_key_ids"):
        for index, key_id in enumerate(getattr(selection, name)):
            _check_ocid(f"job.selection.{name}[{index}]", key_id, ("key",), job.source.region)
    if selection.all_software_keys and not selection.selects_everything:
        raise InvalidInputError("job.selection.all_software_keys", True,
                                "conflicts with key_ids, display_names or freeform_tags",
                                "Either set all_software_keys or name the keys, not both.")

    versions = job.versions
    for index, version_id in enumerate(versions.version_ids):
        _check_ocid(f"job.versions.version_ids[{index}]", version_id, ("keyversion",), job.source.region)
    if versions.mode == "explicit" and not versions.version_ids:
        raise InvalidInputError("job.versions.version_ids", [], "empty while mode is explicit",
                                "List the key version OCIDs to copy, or set mode to all or current.")
    if versions.mode != "explicit" and versions.version_ids:
        raise InvalidInputError("job.versions.mode", versions.mode, "version_ids are given but mode is not explicit",
                                "Set mode to explicit, or remove version_ids.")


def _check_template(path: str, template: str) -> None:
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise InvalidInputError(path, template, f"not a valid template ({exc})",
                                "Write literal braces as {{ and }}.") from None
    for name in fields:
        if name not in TEMPLATE_FIELDS:
            allowed = ", ".join("{" + n + "}" for n in TEMPLATE_FIELDS)
            raise InvalidInputError(path, template, f"unknown field {{{name}}}", f"Use only {allowed}.")
