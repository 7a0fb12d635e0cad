"""Function configuration: the ``KMS_BACKUP_*`` variables of the OCI Functions application.

``docs/configuration.md`` lists every variable. ``load_config`` reads them once per container and
turns them into a ``FunctionConfig``, raising ``InvalidInputError`` named after the variable, so a
misconfigured deployment reports the variable to fix before any API call is made.
"""

import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from kms_key_backup.errors import InvalidInputError
from kms_key_backup.job import DEFAULT_CONCURRENCY, MAX_CONCURRENCY, Job, parse_job

PREFIX = "KMS_BACKUP_"

SOURCE_REGION = "KMS_BACKUP_SOURCE_REGION"
SOURCE_VAULT_ID = "KMS_BACKUP_SOURCE_VAULT_ID"
SOURCE_COMPARTMENT_IDS = "KMS_BACKUP_SOURCE_COMPARTMENT_IDS"
TARGETS = "KMS_BACKUP_TARGETS"
KEY_IDS = "KMS_BACKUP_KEY_IDS"
KEY_NAMES = "KMS_BACKUP_KEY_NAMES"
KEY_TAGS = "KMS_BACKUP_KEY_TAGS"
ALL_SOFTWARE_KEYS = "KMS_BACKUP_ALL_SOFTWARE_KEYS"
EXCLUDE_KEY_IDS = "KMS_BACKUP_EXCLUDE_KEY_IDS"
EXCLUDE_KEY_NAMES = "KMS_BACKUP_EXCLUDE_KEY_NAMES"
VERSIONS = "KMS_BACKUP_VERSIONS"
WRAPPING_ALGORITHM = "KMS_BACKUP_WRAPPING_ALGORITHM"
DEEP_VERIFY = "KMS_BACKUP_DEEP_VERIFY"
CONCURRENCY = "KMS_BACKUP_CONCURRENCY"
REQUESTS_PER_SECOND = "KMS_BACKUP_REQUESTS_PER_SECOND"
ALLOW_PAYLOAD_TARGETS = "KMS_BACKUP_ALLOW_PAYLOAD_TARGETS"
ALLOW_PAYLOAD_WIDEN = "KMS_BACKUP_ALLOW_PAYLOAD_WIDEN"
ALLOW_CANARY = "KMS_BACKUP_ALLOW_CANARY"
METRICS_NAMESPACE = "KMS_BACKUP_METRICS_NAMESPACE"
METRICS_COMPARTMENT_ID = "KMS_BACKUP_METRICS_COMPARTMENT_ID"
DEADLINE_MARGIN_SECONDS = "KMS_BACKUP_DEADLINE_MARGIN_SECONDS"
LOG_LEVEL = "KMS_BACKUP_LOG_LEVEL"
LOG_PAYLOAD = "KMS_BACKUP_LOG_PAYLOAD"
KMS_ENDPOINT_TEMPLATE = "KMS_BACKUP_KMS_ENDPOINT_TEMPLATE"
TELEMETRY_ENDPOINT_TEMPLATE = "KMS_BACKUP_TELEMETRY_ENDPOINT_TEMPLATE"

KNOWN_VARIABLES = frozenset({
    SOURCE_REGION, SOURCE_VAULT_ID, SOURCE_COMPARTMENT_IDS, TARGETS, KEY_IDS, KEY_NAMES, KEY_TAGS,
    ALL_SOFTWARE_KEYS, EXCLUDE_KEY_IDS, EXCLUDE_KEY_NAMES, VERSIONS, WRAPPING_ALGORITHM,
    DEEP_VERIFY, CONCURRENCY, REQUESTS_PER_SECOND, ALLOW_PAYLOAD_TARGETS, ALLOW_PAYLOAD_WIDEN,
    ALLOW_CANARY, METRICS_NAMESPACE, METRICS_COMPARTMENT_ID, DEADLINE_MARGIN_SECONDS, LOG_LEVEL,
    LOG_PAYLOAD,
    KMS_ENDPOINT_TEMPLATE, TELEMETRY_ENDPOINT_TEMPLATE,
})

# Job fields and the variable each comes from, so that an error ``parse_job`` raises on the
# configured job names the variable to fix rather than a job field the operator never wrote.
JOB_FIELD_VARIABLES = (
    ("source.region", SOURCE_REGION),
    ("source.vault_id", SOURCE_VAULT_ID),
    ("source.compartment_ids", SOURCE_COMPARTMENT_IDS),
    ("source", SOURCE_VAULT_ID),
    ("targets", TARGETS),
    ("selection.key_ids", KEY_IDS),
    ("selection.display_names", KEY_NAMES),
    ("selection.freeform_tags", KEY_TAGS),
    ("selection.all_software_keys", ALL_SOFTWARE_KEYS),
    ("selection.exclude_key_ids", EXCLUDE_KEY_IDS),
    ("selection.exclude_display_names", EXCLUDE_KEY_NAMES),
    ("versions", VERSIONS),
    ("options.wrapping_algorithm", WRAPPING_ALGORITHM),
    ("options.deep_verify", DEEP_VERIFY),
    ("options.concurrency", CONCURRENCY),
    ("options.requests_per_second", REQUESTS_PER_SECOND),
)

VERSION_MODES = ("all", "current")
WRAPPING_ALGORITHMS = ("RSA_OAEP_AES_SHA256", "RSA_OAEP_SHA256")
LOG_LEVELS = ("INFO", "DEBUG")
DEFAULT_METRICS_NAMESPACE = "kms_key_backup"
DEFAULT_DEADLINE_MARGIN_SECONDS = 20.0

# OCI Monitoring accepts a custom namespace that starts with a letter, contains only letters,
# digits and underscores, and does not start with the reserved prefixes ``oci_`` or ``oracle_``
# (MetricDataDetails.namespace in the oci SDK 2.189.0).
_NAMESPACE_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_RESERVED_NAMESPACE_PREFIXES = ("oci_", "oracle_")
_TRUE_WORDS = ("true", "yes", "1")
_FALSE_WORDS = ("false", "no", "0")


def invalid(field_name: str, value: Any, problem: str, fix: str) -> InvalidInputError:
    """Build the ``InvalidInputError`` for one bad value: what is wrong, where, and the fix."""
    return InvalidInputError(field_name, value, problem, fix)


@dataclass(frozen=True)
class FunctionConfig:
    """The function's settings, read from its configuration variables."""

    job: Job
    """The configured job, before any payload is applied."""

    allow_payload_targets: bool = False
    allow_payload_widen: bool = False
    allow_canary: bool = False
    """Whether a ``{"trigger": "canary"}`` body may create and delete throwaway keys."""
    metrics_namespace: str = DEFAULT_METRICS_NAMESPACE
    metrics_compartment_id: str | None = None
    deadline_margin_seconds: float = DEFAULT_DEADLINE_MARGIN_SECONDS
    log_level: str = "INFO"
    log_payload: bool = False
    kms_endpoint_template: str | None = None
    telemetry_endpoint_template: str | None = None
    unknown_variables: tuple[str, ...] = field(default=())
    """``KMS_BACKUP_*`` variables that this version does not read, most likely misspelt."""



def load_config(environ: Mapping[str, str]) -> FunctionConfig:
    """Read the ``KMS_BACKUP_*`` variables of ``environ`` into a ``FunctionConfig``.

    Raises ``InvalidInputError`` naming the variable, its value and the fix. Values are checked
    for form here; ``parse_job`` checks the assembled job (OCIDs, regions, targets) afterwards.
    """
    reader = _Reader(environ)

    source: dict[str, Any] = {
        "region": reader.required(SOURCE_REGION),
        "vault_id": reader.required(SOURCE_VAULT_ID),
    }
    compartment_ids = reader.csv(SOURCE_COMPARTMENT_IDS)
    if compartment_ids:
        source["compartment_ids"] = compartment_ids

    selection: dict[str, Any] = {}
    for variable, job_field in ((KEY_IDS, "key_ids"), (KEY_NAMES, "display_names"),
                                (EXCLUDE_KEY_IDS, "exclude_key_ids"),
                                (EXCLUDE_KEY_NAMES, "exclude_display_names")):
        values = reader.csv(variable)
        if values:
            selection[job_field] = values
    tags = reader.json_object(KEY_TAGS)
    if tags:
        selection["freeform_tags"] = tags
    if reader.boolean(ALL_SOFTWARE_KEYS, False):
        selection["all_software_keys"] = True

    versions_mode = reader.choice(VERSIONS, VERSION_MODES, "all", case_sensitive=False)
    options: dict[str, Any] = {
        "wrapping_algorithm": reader.choice(WRAPPING_ALGORITHM, WRAPPING_ALGORITHMS,
                                            WRAPPING_ALGORITHMS[0]),
        "deep_verify": reader.boolean(DEEP_VERIFY, False),
        "concurrency": reader.integer(CONCURRENCY, DEFAULT_CONCURRENCY, 1, MAX_CONCURRENCY),
    }
    requests_per_second = reader.number(REQUESTS_PER_SECOND, 0.0, 0.1, 1000.0, unit="calls a second")
    if requests_per_second:
        options["requests_per_second"] = requests_per_second

    job = {
        "source": source,
        "targets": reader.targets(),
        "selection": selection,
        "versions": {"mode": versions_mode},
        "options": options,
    }

    namespace = reader.text(METRICS_NAMESPACE, DEFAULT_METRICS_NAMESPACE)
    if namespace:
        _check_namespace(namespace)

    metrics_compartment_id = reader.text(METRICS_COMPARTMENT_ID, "") or None
    if metrics_compartment_id and not metrics_compartment_id.startswith("ocid1.compartment.") \
            and not metrics_compartment_id.startswith("ocid1.tenancy."):
        raise invalid(METRICS_COMPARTMENT_ID, metrics_compartment_id,
                      "not a compartment OCID",
                      "Set it to the OCID of the compartment the metrics belong to "
                      "(ocid1.compartment... or ocid1.tenancy...), or leave it unset to use "
                      "the source vault's compartment.")

    return FunctionConfig(
        job=_parse_configured_job(job),
        allow_payload_targets=reader.boolean(ALLOW_PAYLOAD_TARGETS, False),
        allow_payload_widen=reader.boolean(ALLOW_PAYLOAD_WIDEN, False),
        allow_canary=reader.boolean(ALLOW_CANARY, False),
        metrics_namespace=namespace,
        metrics_compartment_id=metrics_compartment_id,
        deadline_margin_seconds=reader.number(DEADLINE_MARGIN_SECONDS,
                                              DEFAULT_DEADLINE_MARGIN_SECONDS, 0.0, 3600.0),
        log_level=reader.choice(LOG_LEVEL, LOG_LEVELS, "INFO", case_sensitive=False).upper(),
        log_payload=reader.boolean(LOG_PAYLOAD, False),
        kms_endpoint_template=reader.endpoint_template(KMS_ENDPOINT_TEMPLATE),
        telemetry_endpoint_template=reader.endpoint_template(TELEMETRY_ENDPOINT_TEMPLATE),
        unknown_variables=tuple(sorted(
            name for name in environ if name.startswith(PREFIX) and name not in KNOWN_VARIABLES
        )),
    )


def variable_for_job_field(job_field: str | None) -> str | None:
    """Return the configuration variable a job field of the configured job comes from."""
    if not job_field:
        return None
    for prefix, variable in JOB_FIELD_VARIABLES:
        if job_field == prefix or job_field.startswith(prefix + ".") \
                or job_field.startswith(prefix + "["):
            return variable
    return None


def _parse_configured_job(job: dict[str, Any]) -> Job:
    """Validate the configured job, naming the variable behind a bad field in the error."""
    try:
        return parse_job(job)
    except InvalidInputError as error:
        job_field = (error.field or "").removeprefix("job.")
        variable = variable_for_job_field(job_field)
        if variable is None:
            raise
        raise InvalidInputError(variable, error.value, f"{job_field}: {error.problem}",
                                error.fix) from None


def _check_namespace(namespace: str) -> None:
    if not _NAMESPACE_PATTERN.match(namespace):
        raise invalid(METRICS_NAMESPACE, namespace, "not a valid OCI Monitoring namespace",
                      "Use a name that starts with a letter and contains only letters, digits "
                      "and underscores, e.g. kms_key_backup, or set it empty to disable metrics.")
    if namespace.lower().startswith(_RESERVED_NAMESPACE_PREFIXES):
        raise invalid(METRICS_NAMESPACE, namespace,
                      "namespaces starting with oci_ or oracle_ are reserved for OCI services",
                      "Choose another name, e.g. kms_key_backup.")


class _Reader:
    """Typed reads of configuration variables; each raises ``InvalidInputError`` on a bad value."""

    def __init__(self, environ: Mapping[str, str]):
        self._environ = environ

    def _raw(self, name: str) -> str | None:
        value = self._environ.get(name)
        if value is None:
            return None
        return value.strip()

    def required(self, name: str) -> str:
        value = self._raw(name)
        if not value:
            raise invalid(name, value, "missing",
                          f"Set {name} in the function or application configuration "
                          "(see docs/configuration.md).")
        return value

    def text(self, name: str, default: str) -> str:
        value = self._raw(name)
        return default if value is None else value

    def csv(self, name: str) -> list[str]:
        value = self._raw(name)
        if not value:
            return []
        items = [item.strip() for item in value.split(",")]
        if any(not item for item in items):
            raise invalid(name, value, "contains an empty item",
                          "Separate values with single commas and no trailing comma.")
        return items

    def boolean(self, name: str, default: bool) -> bool:
        value = self._raw(name)
        if not value:
            return default
        if value.lower() in _TRUE_WORDS:
            return True
        if value.lower() in _FALSE_WORDS:
            return False
        raise invalid(name, value, "not a boolean", "Set it to true or false.")

    def choice(self, name: str, choices: tuple[str, ...], default: str,
               case_sensitive: bool = True) -> str:
        value = self._raw(name)
        if not value:
            return default
        for choice in choices:
            if value == choice or (not case_sensitive and value.lower() == choice.lower()):
                return choice
        raise invalid(name, value, "not a supported value", f"Use one of: {', '.join(choices)}.")

    def integer(self, name: str, default: int, minimum: int, maximum: int) -> int:
        value = self._raw(name)
        if not value:
            return default
        try:
            number = int(value)
        except ValueError:
            raise invalid(name, value, "not an integer",
                          f"Set a whole number from {minimum} to {maximum}.") from None
        if not minimum <= number <= maximum:
            raise invalid(name, value, "out of range",
                          f"Set a whole number from {minimum} to {maximum}.")
        return number

    def number(self, name: str, default: float, minimum: float, maximum: float,
               unit: str = "seconds") -> float:
        value = self._raw(name)
        if not value:
            return default
        fix = f"Set a number of {unit} from {minimum:g} to {maximum:g}."
        try:
            number = float(value)
        except ValueError:
            raise invalid(name, value, "not a number", fix) from None
        if not minimum <= number <= maximum:
            raise invalid(name, value, "out of range", fix)
        return number

    def json_object(self, name: str) -> dict[str, Any]:
        value = self._raw(name)
        if not value:
            return {}
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as exc:
            raise invalid(name, value, f"not valid JSON ({exc.msg} at character {exc.pos})",
                          'Set a JSON object, e.g. {"backup": "true"}.') from None
        if not isinstance(parsed, dict) or not all(
                isinstance(key, str) and isinstance(item, str) for key, item in parsed.items()):
            raise invalid(name, value, "not a JSON object of strings",
                          'Set a JSON object whose keys and values are strings, '
                          'e.g. {"backup": "true"}.')
        return parsed

    def targets(self) -> list[dict[str, Any]]:
        value = self.required(TARGETS)
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as exc:
            raise invalid(TARGETS, value, f"not valid JSON ({exc.msg} at character {exc.pos})",
                          'Set a JSON array of targets, e.g. [{"region": "eu-stockholm-1", '
                          '"vault_id": "ocid1.vault...", "compartment_id": '
                          '"ocid1.compartment..."}].') from None
        if not isinstance(parsed, list) or not parsed \
                or not all(isinstance(item, dict) for item in parsed):
            raise invalid(TARGETS, value, "not a non-empty JSON array of objects",
                          'Set a JSON array with one object per target vault, e.g. '
                          '[{"region": "eu-stockholm-1", "vault_id": "ocid1.vault...", '
                          '"compartment_id": "ocid1.compartment..."}].')
        return parsed

    def endpoint_template(self, name: str) -> str | None:
        value = self._raw(name)
        if not value:
            return None
        if "{region}" not in value:
            raise invalid(name, value, "has no {region} placeholder",
                          "Write the endpoint with {region} where the region name goes, "
                          "e.g. http://127.0.0.1:8000/kms/{region}. Production leaves it unset.")
        return value
