"""RunContext.deadline_reached: the deadline and the estimate of one more version."""

from __future__ import annotations

import time

from kms_key_backup.copy import RunContext


def _context(deadline: float | None) -> RunContext:
    return RunContext(job=None, factory=None, run_id="r", source_vault=None, deadline=deadline)


def test_no_deadline_is_never_reached():
    assert not _context(None).deadline_reached()


def test_passed_deadline_is_reached():
    assert _context(time.monotonic() - 1).deadline_reached()


def test_far_deadline_is_not_reached():
    assert not _context(time.monotonic() + 3600).deadline_reached()


def test_longest_version_brings_deadline_forward():
    context = _context(time.monotonic() + 3600)

    context.record_version_seconds(7200)

    assert context.deadline_reached()


def test_longest_version_keeps_the_maximum():
    context = _context(None)

    context.record_version_seconds(3)
    context.record_version_seconds(1)

    assert context.longest_version_seconds == 3
