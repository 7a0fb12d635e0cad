"""Classify an invocation body: a sweep, a Resource Scheduler run, a job fragment or an event.

The function accepts four kinds of body, distinguished by their shape:

- empty (or only whitespace): a sweep of the configured selection. ``fn invoke`` without input
  and a Resource Scheduler schedule without a body parameter both send this.
- ``{"trigger": "schedule"}``: a sweep started by a Resource Scheduler schedule whose body
  parameter names itself, so logs and metrics can tell scheduled runs from manual ones.
- ``{"trigger": "canary"}`` or ``{"trigger": "canary", "probe": true}``: the doctor canary on the
  configured vaults (docs/live-verification.md), with the live behaviour probes when asked.
- an OCI Events CloudEvent (CloudEvents 0.1, with ``eventType`` and ``data``): sync the key that
  ``data.resourceId`` names.
- any other JSON object: a job fragment (``selection``, ``versions``, ``options``, ``targets``,
  ``source``) merged over the configured job under the payload authority rules.
"""

import json
from dataclasses import dataclass
from typing import Any

from kms_key_backup.function.config import invalid

# Events and job fragments are a few kilobytes. OCI Functions accepts bodies of up to 6 MB, but a
# body this large is a mistake or an attack, and is rejected before it is parsed.
MAX_PAYLOAD_BYTES = 64 * 1024

TRIGGER_SWEEP = "sweep"
TRIGGER_SCHEDULE = "schedule"
TRIGGER_PAYLOAD = "payload"
TRIGGER_EVENT = "event"
TRIGGER_CANARY = "canary"

FRAGMENT_FIELDS = ("source", "targets", "selection", "versions", "options")

EVENT_TYPE_PREFIX = "com.oraclecloud.keymanagementservice."

# Vault events after which the named key may hold material that its copies lack. Other Vault
# events (the ``.begin`` halves, deletions, compartment moves) change nothing a copy depends on.
# ``autokeyrotate.end`` is sent when an automatic rotation fails too; syncing then finds nothing
# new and does nothing.
SYNC_OPERATIONS = frozenset({
    "createkeyversion.end",
    "autokeyrotate.end",
    "createkey.end",
    "enablekey.end",
    "disablekey.end",
})

KEY_OCID_PREFIX = "ocid1.key."
KEY_VERSION_OCID_PREFIX = "ocid1.keyversion."

# Where a key-version event may carry its key's OCID besides ``resourceId``, in the order tried.
# NOTE: OCI documents ``data.additionalDetails`` only as free-form. When none of these fields
# contains a key OCID, the function scans the configured selection for the version.
_KEY_ID_FIELDS = ("keyId", "key_id", "keyOcid", "masterKeyId")


@dataclass(frozen=True)
class KeyEvent:
    """The parts of a Vault key CloudEvent that the function acts on."""

    event_type: str
    operation: str
    """``event_type`` after the Vault prefix, lower case, e.g. ``createkeyversion.end``."""
    event_id: str | None
    resource_id: str
    key_id: str | None
    """The key's OCID, from ``resourceId`` or from the event data; None when the event names
    only a key version and carries no key OCID."""
    key_version_id: str | None
    compartment_id: str | None

    @property
    def syncs_key(self) -> bool:
        return self.operation in SYNC_OPERATIONS


@dataclass(frozen=True)
class Invocation:
    """One classified invocation body."""

    trigger: str
    fragment: dict[str, Any] | None = None
    event: KeyEvent | None = None
    probe: bool = False
    """For a canary: also run the live behaviour probes."""


def parse_invocation(body: bytes) -> Invocation:
    """Classify ``body``; raise ``InvalidInputError`` for a malformed or oversized one."""
    if len(body) > MAX_PAYLOAD_BYTES:
        raise invalid("payload", f"{len(body)} bytes", "too large",
                      f"Send at most {MAX_PAYLOAD_BYTES} bytes: a job fragment or one event.")

    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise invalid("payload", f"byte {exc.start}", "not UTF-8 text",
                      "Send a JSON object encoded as UTF-8, or an empty body.") from None

    if not text.strip():
        return Invocation(TRIGGER_SWEEP)

    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise invalid("payload", f"{len(body)} bytes", f"not valid JSON ({exc.msg} at character "
                      f"{exc.pos})", "Send a JSON object, or an empty body for a sweep.") from None
    except RecursionError:
        raise invalid("payload", f"{len(body)} bytes", "nested too deeply to parse",
                      "Send a job fragment or an event as docs/configuration.md shows.") from None

    if not isinstance(document, dict):
        raise invalid("payload", f"{len(body)} bytes", f"a JSON {type(document).__name__}, "
                      "not an object", "Send a JSON object, or an empty body for a sweep.")

    if "eventType" in document or "cloudEventsVersion" in document:
        return Invocation(TRIGGER_EVENT, event=parse_key_event(document))

    if "specversion" in document:
        raise invalid("payload.specversion", document["specversion"],
                      "a CloudEvents 1.0 envelope, which OCI Events does not send",
                      "Invoke the function from an OCI Events rule, which delivers CloudEvents "
                      "0.1 with eventType and data, or send a job fragment.")

    if "trigger" in document:
        return _parse_trigger(document)

    unknown = sorted(set(document) - set(FRAGMENT_FIELDS))
    if unknown:
        raise invalid(f"payload.{unknown[0]}", document[unknown[0]], "not a job field",
                      f"Use only {', '.join(FRAGMENT_FIELDS)}, a CloudEvent, "
                      '{"trigger": "schedule"} or an empty body.')
    return Invocation(TRIGGER_PAYLOAD, fragment=document)


def parse_key_event(document: dict[str, Any]) -> KeyEvent:
    """Read a Vault key CloudEvent; raise ``InvalidInputError`` when it is malformed."""
    event_type = document.get("eventType")
    if not isinstance(event_type, str) or not event_type:
        raise invalid("payload.eventType", event_type, "missing or not a string",
                      "Send the CloudEvent exactly as OCI Events delivers it.")

    # OCI spells some Vault event types in CamelCase (com.oraclecloud.KeyManagementService...),
    # so event types are matched case-insensitively.
    if not event_type.lower().startswith(EVENT_TYPE_PREFIX):
        raise invalid("payload.eventType", event_type, "not a Vault key event",
                      "Limit the events rule to com.oraclecloud.keymanagementservice event "
                      "types, e.g. createkeyversion.end and autokeyrotate.end.")
    operation = event_type[len(EVENT_TYPE_PREFIX):].lower()

    data = document.get("data")
    if not isinstance(data, dict):
        raise invalid("payload.data", data, "missing or not an object",
                      "Send the CloudEvent exactly as OCI Events delivers it, with its data.")

    resource_id = data.get("resourceId")
    if not isinstance(resource_id, str) or not resource_id:
        raise invalid("payload.data.resourceId", resource_id, "missing or not a string",
                      "Send the CloudEvent exactly as OCI Events delivers it; resourceId names "
                      "the key or key version.")

    key_id = None
    key_version_id = None
    if resource_id.startswith(KEY_OCID_PREFIX):
        key_id = resource_id
    elif resource_id.startswith(KEY_VERSION_OCID_PREFIX):
        key_version_id = resource_id
        key_id = find_key_id(data)
    elif operation in SYNC_OPERATIONS:
        raise invalid("payload.data.resourceId", resource_id, "not a key or key-version OCID",
                      "Send a key event whose resourceId starts with ocid1.key. or "
                      "ocid1.keyversion.; vault events are not handled.")

    event_id = document.get("eventID")
    compartment_id = data.get("compartmentId")
    return KeyEvent(
        event_type=event_type,
        operation=operation,
        event_id=event_id if isinstance(event_id, str) else None,
        resource_id=resource_id,
        key_id=key_id,
        key_version_id=key_version_id,
        compartment_id=compartment_id if isinstance(compartment_id, str) else None,
    )


def find_key_id(data: dict[str, Any]) -> str | None:
    """Find the key OCID in a key-version event's data, or return None.

    Looks at the named fields of ``data.additionalDetails`` and of ``data``, then at any other
    value of ``additionalDetails`` that is a key OCID.
    """
    details = data.get("additionalDetails")
    places = [details] if isinstance(details, dict) else []
    places.append(data)

    for place in places:
        for name in _KEY_ID_FIELDS:
            value = place.get(name)
            if isinstance(value, str) and value.startswith(KEY_OCID_PREFIX):
                return value

    if isinstance(details, dict):
        for value in details.values():
            if isinstance(value, str) and value.startswith(KEY_OCID_PREFIX):
                return value
    return None


def _parse_trigger(document: dict[str, Any]) -> Invocation:
    trigger = document["trigger"]
    if trigger == TRIGGER_CANARY:
        return _parse_canary(document)
    if trigger != TRIGGER_SCHEDULE:
        raise invalid("payload.trigger", trigger, "not a supported trigger",
                      'Use {"trigger": "schedule"} for a Resource Scheduler body, '
                      '{"trigger": "canary"} for the canary, or leave trigger out.')
    extra = sorted(set(document) - {"trigger"})
    if extra:
        raise invalid(f"payload.{extra[0]}", document[extra[0]],
                      "not allowed beside trigger",
                      "A scheduled run sweeps the configured selection: send only "
                      '{"trigger": "schedule"}, or send a job fragment without trigger.')
    return Invocation(TRIGGER_SCHEDULE)



def _parse_canary(document: dict[str, Any]) -> Invocation:
    extra = sorted(set(document) - {"trigger", "probe"})
    if extra:
        raise invalid(f"payload.{extra[0]}", document[extra[0]], "not allowed in a canary body",
                      'Send {"trigger": "canary"}, optionally with "probe": true; the canary uses '
                      "the configured source and targets.")
    probe = document.get("probe", False)
    if not isinstance(probe, bool):
        raise invalid("payload.probe", probe, "not true or false",
                      'Send "probe": true to run the live behaviour probes, or leave it out.')
    return Invocation(TRIGGER_CANARY, probe=probe)
