"""Flags and config keys of the original ``kms_key_backup.py`` script.

The script took a JSON config file (``--configfile``) whose keys are also flags; a flag overrides
the file. It ran in one of two modes:

- export-only (``--exportonly``): export one key version under a public key from
  ``wrapping_pubkey_file`` and save it;
- copy: copy a key into ``target_vault`` in ``target_region``.

This module parses and validates those settings and turns a copy into an engine job, so a copy
made this way takes every version and is idempotent like ``sync``. It makes no API call.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
from typing import Any

from kms_key_backup.errors import InvalidInputError
from kms_key_backup.inputfile import read_bounded

# Keys of the config file, which are also the names of the flags.
CONFIG_KEYS = (
    "ociconfig",
    "source_ociprofile",
    "source_region",
    "source_compartment",
    "source_vault",
    "source_keyname",
    "source_key_ocid",
    "source_key_version",
    "target_region",
    "target_compartment",
    "target_vault",
    "target_ociprofile",
    "target_keyname",
    "wrapping_algorithm",
    "wrapping_pubkey_file",
    "exportonly",
    "outputfile",
)

# The original script's usage text spells the output flag --outfile, while its code reads
# --outputfile, so both spellings are accepted.
FLAG_ALIASES = {"outfile": "outputfile"}

WRAPPING_ALGORITHMS = ("RSA_OAEP_AES_SHA256", "RSA_OAEP_SHA256")

_REGION = re.compile(r"^[a-z]{2,}-[a-z]+-\d+$")
_OCID_PREFIXES = {
    "source_compartment": ("ocid1.compartment.", "ocid1.tenancy."),
    "target_compartment": ("ocid1.compartment.", "ocid1.tenancy."),
    "source_vault": ("ocid1.vault.",),
    "target_vault": ("ocid1.vault.",),
    "source_key_ocid": ("ocid1.key.",),
    "source_key_version": ("ocid1.keyversion.",),
}
_TARGET_KEYS = ("target_region", "target_compartment", "target_vault", "target_ociprofile", "target_keyname")


@dataclasses.dataclass(frozen=True)
class LegacyConfig:
    """Merged and validated settings of one original-script invocation."""

    ociconfig: str | None
    source_ociprofile: str | None
    source_region: str
    source_compartment: str | None
    source_vault: str
    source_keyname: str | None
    source_key_ocid: str | None
    source_key_version: str | None
    target_region: str | None
    target_compartment: str | None
    target_vault: str | None
    target_ociprofile: str | None
    target_keyname: str | None
    wrapping_algorithm: str
    wrapping_pubkey_file: str | None
    exportonly: bool
    outputfile: str | None
    # Settings given but unused in this mode, as "name: reason" lines for a warning.
    ignored: tuple[str, ...] = ()


def add_legacy_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--configfile`` and one flag per config key, all defaulting to "not given"."""
    group = parser.add_argument_group("original kms_key_backup.py flags (override the --configfile keys)")
    group.add_argument("--configfile", default=None, help="JSON file with the config keys below")
    for key in CONFIG_KEYS:
        if key == "exportonly":
            group.add_argument("--exportonly", action="store_true", default=None, help="export one key version to a file; copy nothing")
        elif key == "outputfile":
            group.add_argument(
                "--outputfile", "--outfile", dest="outputfile", default=None,
                help="export file to create (mode 0600); default: a new file in the current directory",
            )
        else:
            group.add_argument(f"--{key}", default=None, help=_HELP[key])


_HELP = {
    "ociconfig": "OCI config file (default ~/.oci/config)",
    "source_ociprofile": "profile of the source in the OCI config file (default DEFAULT)",
    "source_region": "region of the source vault, e.g. eu-frankfurt-1",
    "source_compartment": "compartment OCID to search for the key",
    "source_vault": "OCID of the source vault",
    "source_keyname": "display name of the key (when source_key_ocid is not given)",
    "source_key_ocid": "OCID of the key",
    "source_key_version": "key version OCID to export (default: the current version); a copy takes every version",
    "target_region": "region of the target vault, e.g. eu-stockholm-1",
    "target_compartment": "compartment OCID of the copy",
    "target_vault": "OCID of the target vault",
    "target_ociprofile": "profile of the target in the OCI config file (default: source_ociprofile)",
    "target_keyname": "display name of the copy (default: the source key's display name)",
    "wrapping_algorithm": "RSA_OAEP_AES_SHA256 (default) or RSA_OAEP_SHA256",
    "wrapping_pubkey_file": "PEM file of the RSA public key to wrap the export with (export-only)",
}


def is_legacy_invocation(argv: list[str]) -> bool:
    """Return True when the arguments are the original script's: flags only, no subcommand."""
    if not argv or not argv[0].startswith("--"):
        return False
    flag = argv[0].split("=", 1)[0][2:]
    return flag == "configfile" or flag in CONFIG_KEYS or flag in FLAG_ALIASES


def load_config_file(path: str) -> dict[str, Any]:
    """Read a ``--configfile`` JSON object, rejecting keys the original script did not define."""
    try:
        with open(path, "rb") as handle:
            document = json.loads(read_bounded(handle, "--configfile", path, "the JSON config file").decode("utf-8"))
    except FileNotFoundError:
        raise InvalidInputError("--configfile", path, "the file does not exist; give the path of the JSON config file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInputError("--configfile", path, f"the file is not valid JSON ({exc}); fix the file") from None
    except RecursionError:
        raise InvalidInputError("--configfile", path, "the JSON is nested too deeply to parse; fix the file") from None
    except OSError as exc:
        raise InvalidInputError("--configfile", path, f"the file cannot be read ({exc.strerror}); check the path") from None

    if not isinstance(document, dict):
        raise InvalidInputError("--configfile", path, "expected a JSON object of config keys")
    for key, value in document.items():
        name = FLAG_ALIASES.get(key, key)
        if name not in CONFIG_KEYS:
            raise InvalidInputError(
                f"--configfile key {key!r}", path,
                f"unknown config key; the keys are {', '.join(CONFIG_KEYS)}",
            )
        if name == "exportonly":
            if not isinstance(value, bool):
                raise InvalidInputError("exportonly", value, "expected true or false (JSON booleans)")
        elif value is not None and not isinstance(value, str):
            raise InvalidInputError(key, value, "expected a string")
    return {FLAG_ALIASES.get(key, key): value for key, value in document.items()}


def merge_config(args: argparse.Namespace) -> LegacyConfig:
    """Merge the config file and the flags (flags win) and validate the result."""
    settings: dict[str, Any] = {key: None for key in CONFIG_KEYS}
    if args.configfile:
        settings.update(load_config_file(args.configfile))
    for key in CONFIG_KEYS:
        value = getattr(args, key, None)
        if value is not None:
            settings[key] = value
    settings["exportonly"] = bool(settings["exportonly"])
    if not settings["wrapping_algorithm"]:
        settings["wrapping_algorithm"] = "RSA_OAEP_AES_SHA256"
    return validate(settings)


def _require(settings: dict[str, Any], key: str, reason: str) -> None:
    if not settings.get(key):
        raise InvalidInputError(key, settings.get(key), f"missing; {reason}; set it in --configfile or as --{key}")


def validate(settings: dict[str, Any]) -> LegacyConfig:
    """Validate merged settings; raise `InvalidInputError` on the first problem."""
    _require(settings, "source_region", "the region of the source vault is needed to reach it")
    _require(settings, "source_vault", "the OCID of the source vault is needed")
    if not settings["source_key_ocid"] and not settings["source_keyname"]:
        raise InvalidInputError(
            "source_key_ocid", None, "missing; give source_key_ocid, or source_keyname with source_compartment"
        )
    if settings["source_keyname"] and not settings["source_key_ocid"]:
        _require(settings, "source_compartment", "a key is found by source_keyname only within a compartment")

    for key in ("source_region", "target_region"):
        if settings[key] and not _REGION.match(settings[key]):
            raise InvalidInputError(key, settings[key], "expected a region identifier such as eu-frankfurt-1")
    for key, prefixes in _OCID_PREFIXES.items():
        if settings[key] and not settings[key].startswith(prefixes):
            raise InvalidInputError(
                key, settings[key], f"expected an OCID starting with {' or '.join(prefixes)}"
            )
    if settings["wrapping_algorithm"] not in WRAPPING_ALGORITHMS:
        raise InvalidInputError(
            "wrapping_algorithm", settings["wrapping_algorithm"], f"expected one of {', '.join(WRAPPING_ALGORITHMS)}"
        )

    ignored: list[str] = []
    if settings["source_key_ocid"] and settings["source_keyname"]:
        ignored.append("source_keyname: source_key_ocid selects the key")
    if settings["exportonly"]:
        _require(settings, "wrapping_pubkey_file", "export-only wraps the key under that RSA public key")
        ignored.extend(f"{key}: not used by exportonly" for key in _TARGET_KEYS if settings[key])
    else:
        _require(settings, "target_region", "the copy goes to a vault in that region")
        _require(settings, "target_vault", "the copy goes to that vault")
        _require(settings, "target_compartment", "the copy is created in that compartment")
        if settings["target_region"] == settings["source_region"] and settings["target_vault"] == settings["source_vault"]:
            raise InvalidInputError("target_vault", settings["target_vault"], "the target is the source vault; give another vault")
        ignored.extend(
            f"{key}: used only with --exportonly" for key in ("wrapping_pubkey_file", "outputfile") if settings[key]
        )
        if settings["source_key_version"]:
            ignored.append("source_key_version: a copy takes every version of the key, this one included")

    return LegacyConfig(ignored=tuple(ignored), **settings)


def to_job(config: LegacyConfig) -> dict[str, Any]:
    """Return the engine job (as a mapping for `parse_job`) of a copy-mode invocation."""
    if config.exportonly:
        raise ValueError("config: an export-only invocation has no job")
    selection: dict[str, Any] = {}
    if config.source_key_ocid:
        selection["key_ids"] = [config.source_key_ocid]
    else:
        selection["display_names"] = [config.source_keyname]

    source: dict[str, Any] = {"region": config.source_region, "vault_id": config.source_vault}
    if config.source_compartment:
        source["compartment_ids"] = [config.source_compartment]

    target: dict[str, Any] = {
        "region": config.target_region,
        "vault_id": config.target_vault,
        "compartment_id": config.target_compartment,
        "protection_mode": "SOFTWARE",
    }
    if config.target_keyname:
        # A display name without braces is a template that renders to itself.
        target["display_name_template"] = config.target_keyname
    return {
        "source": source,
        "targets": [target],
        "selection": selection,
        "versions": {"mode": "all"},
        "options": {"wrapping_algorithm": config.wrapping_algorithm},
    }


# Job fields that `to_job` fills, and the config key each comes from.
_JOB_FIELD_KEYS = {
    "source.region": "source_region",
    "source.vault_id": "source_vault",
    "source.compartment_ids": "source_compartment",
    "targets[0].region": "target_region",
    "targets[0].vault_id": "target_vault",
    "targets[0].compartment_id": "target_compartment",
    "targets[0].display_name_template": "target_keyname",
    "selection.key_ids": "source_key_ocid",
    "selection.display_names": "source_keyname",
    "options.wrapping_algorithm": "wrapping_algorithm",
}


def config_key_of_job_field(field: str) -> str:
    """Return the config key behind a job field of an error, or the field itself if none is."""
    path = field.removeprefix("job.")
    for prefix, key in _JOB_FIELD_KEYS.items():
        if path == prefix or path.startswith(prefix + "[") or path.startswith(prefix + "."):
            return key
    return field
