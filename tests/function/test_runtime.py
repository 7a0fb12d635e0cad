"""The invocation deadline and the JSON log lines, without fdk."""

import datetime
import io
import json
import logging
import threading
import time

import pytest

from kms_key_backup import logs
from kms_key_backup.function.runtime import DEFAULT_DEADLINE_SECONDS, FunctionRuntime, deadline_from_header

WALL_NOW = datetime.datetime(2026, 12, 4, 12, 0, tzinfo=datetime.timezone.utc).timestamp()


@pytest.fixture(autouse=True)
def restore_logging():
    """Undo configure_logging, so later tests that capture log records still receive them."""
    root = logging.getLogger()
    package = logging.getLogger(logs.LOGGER_NAME)
    saved = (root.level, package.level, package.propagate, list(package.handlers))
    yield
    root.setLevel(saved[0])
    package.setLevel(saved[1])
    package.propagate = saved[2]
    package.handlers[:] = saved[3]
    logs.clear_fields()


@pytest.mark.parametrize("header, seconds_left", [
    ("2026-12-04T12:00:30Z", 30.0),
    ("2026-12-04T12:05:00.000+00:00", 300.0),
    ("2026-12-04T13:00:10+01:00", 10.0),
    ("2026-12-04T12:00:02", 2.0),
])
def test_deadline_header_is_parsed(header, seconds_left):
    engine_deadline, left = deadline_from_header(header, 5.0, wall_now=WALL_NOW,
                                                 monotonic_now=100.0)

    assert left == pytest.approx(seconds_left)
    assert engine_deadline == pytest.approx(100.0 + seconds_left - 5.0)


@pytest.mark.parametrize("header", [None, "", "tomorrow"])
def test_missing_deadline_uses_fdk_default(header):
    engine_deadline, left = deadline_from_header(header, 1.0, wall_now=WALL_NOW,
                                                 monotonic_now=50.0)

    assert left == DEFAULT_DEADLINE_SECONDS
    assert engine_deadline == 50.0 + DEFAULT_DEADLINE_SECONDS - 1.0


def test_log_lines_are_json_with_bound_fields():
    stream = io.StringIO()
    logs.configure_logging("INFO", stream=stream)
    logs.bind_fields(call_id="call-1", run_id="run-1")
    try:
        logging.getLogger("kms_key_backup.engine").info(
            "copied %d version(s)", 2, extra={"key_id": "ocid1.key.oc1..k", "duration_ms": 12})
    finally:
        logs.clear_fields()

    entry = json.loads(stream.getvalue())
    assert entry["message"] == "copied 2 version(s)"
    assert entry["level"] == "INFO"
    assert entry["call_id"] == "call-1"
    assert entry["run_id"] == "run-1"
    assert entry["key_id"] == "ocid1.key.oc1..k"
    assert entry["duration_ms"] == 12
    assert entry["time"].endswith("Z")


def test_configure_logging_quiets_root_and_replaces_handler():
    first, second = io.StringIO(), io.StringIO()
    logging.getLogger().setLevel(logging.DEBUG)

    logs.configure_logging("INFO", stream=first)
    logs.configure_logging("INFO", stream=second)
    logging.getLogger("kms_key_backup").info("once")

    assert logging.getLogger().level == logging.WARNING
    assert first.getvalue() == ""
    assert len(second.getvalue().splitlines()) == 1


def test_debug_lines_only_at_debug_level():
    stream = io.StringIO()
    logs.configure_logging("INFO", stream=stream)
    logging.getLogger("kms_key_backup.function").debug("hidden")
    logs.configure_logging("DEBUG", stream=stream)
    logging.getLogger("kms_key_backup.function").debug("shown")

    messages = [json.loads(line)["message"] for line in stream.getvalue().splitlines()]
    assert messages == ["shown"]


def _runtime_with_unfinished_worker(release: "threading.Event"):
    runtime = FunctionRuntime({})
    worker = threading.Thread(target=release.wait, name="earlier-run", daemon=True)
    worker.start()
    runtime._unfinished_worker = worker
    return runtime, worker


def test_earlier_run_is_awaited_when_time_allows():
    release = threading.Event()
    runtime, worker = _runtime_with_unfinished_worker(release)
    threading.Timer(0.1, release.set).start()

    runtime._wait_for_unfinished_run(time.monotonic() + 60)

    assert not worker.is_alive()


def test_earlier_run_is_not_awaited_past_deadline(caplog):
    release = threading.Event()
    runtime, worker = _runtime_with_unfinished_worker(release)

    with caplog.at_level(logging.WARNING, logger="kms_key_backup.function"):
        runtime._wait_for_unfinished_run(time.monotonic())
    still_running = worker.is_alive()
    release.set()

    assert still_running
    assert "earlier invocation is still going" in caplog.text
