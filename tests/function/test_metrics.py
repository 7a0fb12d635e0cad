"""Run metrics derived from a run report."""

import datetime

from kms_key_backup.metrics import build_metric_data, run_metrics_from_report

NOW = datetime.datetime(2026, 12, 4, 12, 0, tzinfo=datetime.timezone.utc)


def report(status="ok", counts=None, keys=None, keys_left=None, **fields):
    return {"status": status, "dry_run": False,
            "counts": {"versions_copied": 0, "keys_failed": 0, **(counts or {})},
            "keys": keys or [], "keys_left": keys_left or [], **fields}


def target(**fields):
    return {"versions_copied": [], "versions_left": [], "versions_skipped": [], **fields}


def test_clean_run_has_no_lag_and_succeeds():
    metrics = run_metrics_from_report(report(counts={"versions_copied": 5}), 1.5, NOW)

    assert metrics.versions_copied == 5
    assert metrics.replication_lag_seconds == 0.0
    assert metrics.run_succeeded is True
    assert metrics.values()["runs_succeeded"] == 1.0
    assert metrics.values()["run_duration_seconds"] == 1.5


def test_failed_key_suppresses_success_metric():
    failed = report(status="partial", counts={"keys_failed": 1},
                    keys=[{"targets": [target(error={"message": "boom"})]}])

    metrics = run_metrics_from_report(failed, 2.0, NOW)

    assert metrics.keys_failed == 1
    assert metrics.run_succeeded is False
    assert "runs_succeeded" not in metrics.values()


def test_unfinished_keys_count_as_partial():
    unfinished = report(status="partial", keys_left=["ocid1.key.a", "ocid1.key.b"],
                        keys=[{"targets": [target(versions_left=["ocid1.keyversion.c"])]}])

    metrics = run_metrics_from_report(unfinished, 2.0, NOW)

    assert metrics.keys_partial == 3
    assert metrics.replication_lag_seconds is None
    assert "replication_lag_seconds" not in metrics.values()


def test_lag_from_oldest_pending_version():
    pending = report(status="partial", keys_left=["ocid1.key.a"],
                     oldest_pending_version_time_created="2026-12-04T11:00:00Z")

    metrics = run_metrics_from_report(pending, 1.0, NOW)

    assert metrics.replication_lag_seconds == 3600.0


def test_failed_run_posts_failure():
    metrics = run_metrics_from_report(report(status="failed", error={"message": "x"}), 0.5, NOW)

    assert metrics.values()["run_failed"] == 1.0
    assert metrics.replication_lag_seconds is None


def test_metric_data_carries_dimensions():
    metrics = run_metrics_from_report(report(counts={"versions_copied": 2}), 1.0, NOW)

    data = build_metric_data(metrics, "kms_key_backup", "ocid1.compartment.oc1..c",
                             {"source_vault_id": "ocid1.vault.oc1..v"}, NOW)
    by_name = {item.name: item for item in data}

    assert by_name["versions_copied"].datapoints[0].value == 2.0
    assert by_name["versions_copied"].namespace == "kms_key_backup"
    assert by_name["versions_copied"].dimensions == {"source_vault_id": "ocid1.vault.oc1..v"}
    assert by_name["versions_copied"].datapoints[0].timestamp == NOW
