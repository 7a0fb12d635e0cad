"""Payload authority: what an invocation payload may change in the configured job.

The configuration, set by the operator who deployed the function, decides where keys go and
which keys may go. A payload, sent by anyone allowed to invoke the function, may only narrow that:

- ``selection``: name fewer keys than the configuration selects, and add exclusions. Selection
  criteria are alternatives (a key matches by OCID, by display name, or by carrying every tag).
  So a payload narrows only when each of its criteria is provably inside the configured ones
  without asking the vault: its key OCIDs among the configured OCIDs, its names among the
  configured names, its tags a superset of the configured tags. When the configuration selects
  every software key, any payload selection narrows. Configured exclusions always stay.
- ``targets``: a subset of the configured targets, named by ``vault_id``; a field given for a
  target must equal the configured one. No new target, region, vault or compartment.
- ``source``: the configured region and vault only; ``compartment_ids`` a subset of the
  configured ones.
- ``versions``: anything when the configuration copies all versions; only ``current`` when it
  copies the current version.
- ``options``: ``dry_run``, ``deep_verify``, ``wrapping_algorithm`` and ``deadline_seconds``
  freely; ``concurrency`` and ``requests_per_second`` only lower than configured.

``KMS_BACKUP_ALLOW_PAYLOAD_TARGETS=true`` lets a payload's ``targets`` replace the configured
ones. ``KMS_BACKUP_ALLOW_PAYLOAD_WIDEN=true`` lets its ``selection``, ``versions`` and
``source.compartment_ids`` replace the configured ones (configured exclusions still apply).

Every check here is static, so a rejected payload causes no API call.
"""

import copy
from typing import Any

from kms_key_backup.errors import InvalidInputError
from kms_key_backup.function.config import ALLOW_PAYLOAD_TARGETS, ALLOW_PAYLOAD_WIDEN, invalid
from kms_key_backup.job import Job

_FREE_OPTIONS = ("dry_run", "deep_verify", "wrapping_algorithm", "deadline_seconds")
_LOWER_ONLY_OPTIONS = ("concurrency", "requests_per_second")
_SELECTION_LISTS = ("key_ids", "display_names", "exclude_key_ids", "exclude_display_names")
_EXCLUSION_LISTS = ("exclude_key_ids", "exclude_display_names")


def apply_payload(configured: Job, fragment: dict[str, Any], *, allow_targets: bool,
                  allow_widen: bool) -> dict[str, Any]:
    """Merge a payload job fragment over the configured job and return the job mapping.

    Raises ``InvalidInputError`` naming the payload field when the fragment tries more than the
    configuration allows. The result still goes through ``parse_job``.
    """
    job = configured.to_dict()

    if "source" in fragment:
        job["source"] = _merge_source(job["source"], _object(fragment, "source"), allow_widen)
    if "targets" in fragment:
        job["targets"] = _merge_targets(job["targets"], fragment["targets"], allow_targets)
    if "selection" in fragment:
        job["selection"] = _merge_selection(job["selection"], _object(fragment, "selection"),
                                            allow_widen)
    if "versions" in fragment:
        job["versions"] = _merge_versions(job["versions"], _object(fragment, "versions"),
                                          allow_widen)
    if "options" in fragment:
        job["options"] = _merge_options(job["options"], _object(fragment, "options"))
    return job


def _object(fragment: dict[str, Any], name: str) -> dict[str, Any]:
    value = fragment[name]
    if not isinstance(value, dict):
        raise invalid(f"payload.{name}", value, "not an object",
                      f"Send {name} as a JSON object (see docs/job.md).")
    return value


def _string_list(value: Any, path: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise invalid(path, value, "not a list of strings", "Send a JSON array of strings.")
    return value


def _merge_source(configured: dict[str, Any], requested: dict[str, Any],
                  allow_widen: bool) -> dict[str, Any]:
    merged = copy.deepcopy(configured)
    for name in ("region", "vault_id"):
        if name in requested and requested[name] != configured[name]:
            raise invalid(f"payload.source.{name}", requested[name],
                          f"differs from the configured source {name}",
                          f"Leave source.{name} out; the source vault is set by the function's "
                          "configuration.")

    unknown = sorted(set(requested) - {"region", "vault_id", "compartment_ids"})
    if unknown:
        raise invalid(f"payload.source.{unknown[0]}", requested[unknown[0]], "unknown field",
                      "Use only region, vault_id and compartment_ids.")

    if "compartment_ids" in requested:
        compartments = _string_list(requested["compartment_ids"], "payload.source.compartment_ids")
        allowed = configured["compartment_ids"]
        outside = [item for item in compartments if item not in allowed]
        if outside and not allow_widen:
            raise invalid("payload.source.compartment_ids", outside[0],
                          "not among the configured source compartments",
                          "Name only compartments listed in KMS_BACKUP_SOURCE_COMPARTMENT_IDS, "
                          f"or set {ALLOW_PAYLOAD_WIDEN}=true in the function configuration.")
        merged["compartment_ids"] = compartments
    return merged


def _merge_targets(configured: list[dict[str, Any]], given: Any,
                   allow_targets: bool) -> list[dict[str, Any]]:
    if not isinstance(given, list) or not all(isinstance(item, dict) for item in given):
        raise invalid("payload.targets", given, "not a list of objects",
                      "Send targets as a JSON array of objects, each with a vault_id.")
    if allow_targets:
        return copy.deepcopy(given)

    by_vault = {target["vault_id"]: target for target in configured}
    merged = []
    for index, target in enumerate(given):
        path = f"payload.targets[{index}]"
        vault_id = target.get("vault_id")
        if vault_id not in by_vault:
            raise invalid(f"{path}.vault_id", vault_id, "not a configured target vault",
                          "Name only target vaults listed in KMS_BACKUP_TARGETS, or set "
                          f"{ALLOW_PAYLOAD_TARGETS}=true in the function configuration.")
        allowed = by_vault[vault_id]
        for name, value in target.items():
            if name not in allowed:
                raise invalid(f"{path}.{name}", value, "unknown field",
                              f"Use only {', '.join(sorted(allowed))}.")
            if value != allowed[name]:
                raise invalid(f"{path}.{name}", value,
                              f"differs from the configured target's {name} ({allowed[name]!r})",
                              f"Leave {name} out or give the configured value, or set "
                              f"{ALLOW_PAYLOAD_TARGETS}=true in the function configuration.")
        merged.append(copy.deepcopy(allowed))
    return merged


def _merge_selection(configured: dict[str, Any], given: dict[str, Any],
                     allow_widen: bool) -> dict[str, Any]:
    unknown = sorted(set(given) - set(configured))
    if unknown:
        raise invalid(f"payload.selection.{unknown[0]}", given[unknown[0]], "unknown field",
                      f"Use only {', '.join(sorted(configured))}.")
    for name in _SELECTION_LISTS:
        if name in given:
            _string_list(given[name], f"payload.selection.{name}")
    tags = given.get("freeform_tags", {})
    if not isinstance(tags, dict):
        raise invalid("payload.selection.freeform_tags", tags, "not an object",
                      'Send freeform_tags as a JSON object, e.g. {"backup": "true"}.')

    given_ids = given.get("key_ids", [])
    given_names = given.get("display_names", [])
    given_all = given.get("all_software_keys", False)
    names_keys = bool(given_ids or given_names or tags)

    merged = copy.deepcopy(configured)
    if allow_widen:
        merged.update({"key_ids": list(given_ids), "display_names": list(given_names),
                       "freeform_tags": dict(tags), "all_software_keys": bool(given_all)})
    elif names_keys:
        _check_narrows(configured, given_ids, given_names, tags)
        merged.update({"key_ids": list(given_ids), "display_names": list(given_names),
                       "freeform_tags": dict(tags), "all_software_keys": False})
    elif given_all and not _selects_everything(configured):
        raise invalid("payload.selection.all_software_keys", given_all,
                      "widens the configured selection to every software key",
                      f"Name keys within the configured selection, or set {ALLOW_PAYLOAD_WIDEN}"
                      "=true in the function configuration.")

    # Exclusions only ever remove keys, so the payload's are added to the configured ones.
    for name in _EXCLUSION_LISTS:
        for item in given.get(name, []):
            if item not in merged[name]:
                merged[name].append(item)
    return merged


def _selects_everything(selection: dict[str, Any]) -> bool:
    return not (selection["key_ids"] or selection["display_names"] or selection["freeform_tags"])


def _check_narrows(configured: dict[str, Any], key_ids: list[str], names: list[str],
                   tags: dict[str, Any]) -> None:
    """Raise unless every key the payload criteria match is matched by the configured ones."""
    if _selects_everything(configured):
        return
    fix = ("Name only keys the configuration selects (KMS_BACKUP_KEY_IDS, KMS_BACKUP_KEY_NAMES, "
           f"KMS_BACKUP_KEY_TAGS), or set {ALLOW_PAYLOAD_WIDEN}=true in the function "
           "configuration.")

    for index, key_id in enumerate(key_ids):
        if key_id not in configured["key_ids"]:
            raise invalid(f"payload.selection.key_ids[{index}]", key_id,
                          "not among the configured key OCIDs", fix)
    for index, name in enumerate(names):
        if name not in configured["display_names"]:
            raise invalid(f"payload.selection.display_names[{index}]", name,
                          "not among the configured key names", fix)
    if tags:
        configured_tags = configured["freeform_tags"]
        covered = bool(configured_tags) and all(
            tags.get(name) == value for name, value in configured_tags.items())
        if not covered:
            raise invalid("payload.selection.freeform_tags", tags,
                          "does not include every configured tag, so it may match other keys",
                          fix)


def _merge_versions(configured: dict[str, Any], given: dict[str, Any],
                    allow_widen: bool) -> dict[str, Any]:
    merged = copy.deepcopy(configured)
    merged.update(copy.deepcopy(given))
    mode = merged.get("mode")
    if configured["mode"] == "current" and mode != "current" and not allow_widen:
        raise invalid("payload.versions.mode", mode,
                      "widens the configured versions (current) to more versions",
                      f"Leave versions out, or set {ALLOW_PAYLOAD_WIDEN}=true in the function "
                      "configuration.")
    if "mode" in given and given["mode"] != "explicit" and "version_ids" not in given:
        merged["version_ids"] = []
    return merged


def _merge_options(configured: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(configured)
    for name, value in given.items():
        if name in _LOWER_ONLY_OPTIONS:
            if isinstance(value, (int, float)) and not isinstance(value, bool) \
                    and value > configured[name]:
                raise invalid(f"payload.options.{name}", value,
                              f"higher than the configured {configured[name]}",
                              f"Send at most {configured[name]}, or leave {name} out.")
        elif name not in _FREE_OPTIONS:
            raise invalid(f"payload.options.{name}", value, "unknown field",
                          f"Use only {', '.join(_FREE_OPTIONS + _LOWER_ONLY_OPTIONS)}.")
        merged[name] = value
    return merged


def payload_error(error: InvalidInputError) -> InvalidInputError:
    """Rename a ``parse_job`` error on a payload-merged job to the payload's field path.

    The configured job passed ``parse_job`` at start-up, so a new error comes from the payload.
    """
    field = error.field or ""
    if field.startswith("job."):
        field = "payload." + field[len("job."):]
    return InvalidInputError(field, error.value, error.problem, error.fix)
