"""JSON log lines on stdout, one object a line, for OCI Logging and for the CLI.

OCI Functions collects a function's stdout and stderr into its invoke log, so one JSON object a
line keeps each entry searchable by field (``run_id``, ``call_id``, ``key_id`` and so on).

Importing ``fdk`` sets the root logger to DEBUG with a stderr handler, which would let the
``oci`` SDK and ``urllib3`` write their debug lines into that log. ``configure_logging`` sets the
root logger back to WARNING and gives the ``kms_key_backup`` logger its own handler.

Fields set with ``bind_fields`` (the run id, the call id, the trigger) are added to every line
until ``clear_fields``. They are process-wide rather than per context, so that lines logged from
the engine's worker threads carry them too. OCI Functions sends a container one invocation at a
time, and the CLI runs one job a process, so one set of fields at a time is enough.

Nothing here filters secrets: callers never pass key material or wrapped key blobs to a logger.
"""

import datetime
import json
import logging
import sys
import threading
from typing import Any, TextIO

LOGGER_NAME = "kms_key_backup"

# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is logged.
_RECORD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", (), None)).keys()
) | {"message", "asctime", "taskName"}

_fields_lock = threading.Lock()
_bound_fields: dict[str, Any] = {}


def bind_fields(**fields: Any) -> None:
    """Add fields to every following log line, replacing fields of the same name."""
    global _bound_fields
    with _fields_lock:
        _bound_fields = {**_bound_fields, **fields}


def clear_fields() -> None:
    """Remove every field added by ``bind_fields``."""
    global _bound_fields
    with _fields_lock:
        _bound_fields = {}


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object: time, level, logger, message, bound and extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        timestamp = datetime.datetime.fromtimestamp(record.created, tz=datetime.timezone.utc)
        entry: dict[str, Any] = {
            "time": timestamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(_bound_fields)

        for name, value in vars(record).items():
            if name not in _RECORD_ATTRIBUTES and not name.startswith("_"):
                entry[name] = value

        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)

        return json.dumps(entry, default=str, sort_keys=False)


class _JsonHandler(logging.StreamHandler):
    """The handler ``configure_logging`` installs, marked so that a second call replaces it."""


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> logging.Logger:
    """Send ``kms_key_backup`` log lines as JSON to ``stream`` (stdout) and quiet the root logger.

    Safe to call more than once: a later call replaces the handler of an earlier one, so a warm
    function container that configures logging on each invocation never doubles its lines.
    """
    root = logging.getLogger()
    root.setLevel(logging.WARNING)

    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):
        if isinstance(handler, _JsonHandler):
            logger.removeHandler(handler)

    handler = _JsonHandler(stream if stream is not None else sys.stdout)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return logger
