"""Monitoring ingestion through `MonitoringClient.post_metric_data`."""

import datetime

import oci
import pytest

models = oci.monitoring.models


def _metric(compartment_id, namespace="kms_key_backup", age=datetime.timedelta(0)):
    stamp = datetime.datetime.now(datetime.timezone.utc) - age
    return models.MetricDataDetails(namespace=namespace, compartment_id=compartment_id, name="keys_copied",
                                    dimensions={"target_region": "eu-stockholm-1"},
                                    datapoints=[models.Datapoint(timestamp=stamp, value=3)])


def test_post_metric_data_is_kept(kms, world):
    response = kms.monitoring().post_metric_data(models.PostMetricDataDetails(
        metric_data=[_metric(world.main.compartment_id)])).data
    assert response.failed_metrics_count == 0
    stored = kms.admin.metrics()
    assert len(stored) == 1
    assert stored[0]["name"] == "keys_copied"
    assert stored[0]["datapoints"][0]["value"] == 3
    assert stored[0]["region"] == "eu-frankfurt-1"
    call = kms.admin.calls(operation="PostMetricData")[0]
    assert call["category"] == "monitoring"


def test_invalid_metrics_are_reported(kms, world):
    response = kms.monitoring().post_metric_data(models.PostMetricDataDetails(metric_data=[
        _metric(world.main.compartment_id, namespace="oci_reserved"),
        _metric(world.main.compartment_id, age=datetime.timedelta(hours=3)),
        _metric(world.main.compartment_id),
    ])).data
    assert response.failed_metrics_count == 2
    assert len(kms.admin.metrics()) == 1


def test_metrics_for_other_tenancy_compartment_are_refused(kms, world):
    with pytest.raises(oci.exceptions.ServiceError) as failure:
        kms.monitoring().post_metric_data(models.PostMetricDataDetails(metric_data=[_metric(world.other.compartment_id)]))
    assert failure.value.status == 404
    assert kms.admin.metrics() == []
