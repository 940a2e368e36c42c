from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from marketscope_platform.aws import AwsClients
from marketscope_servicekit.metrics import MetricsRecorder, percentile


def test_values_are_aggregated_with_counts_and_a_service_only_series() -> None:
    metrics = MetricsRecorder("market-data")
    for value in (10.0, 10.0, 30.0):
        metrics.record("APILatency", value, unit="Milliseconds", dimensions={"Route": "/q"})
    data = {tuple(d["Name"] for d in datum["Dimensions"]): datum for datum in metrics.pending()}
    assert set(data) == {("Service", "Route"), ("Service",)}
    for datum in data.values():
        assert sorted(zip(datum["Values"], datum["Counts"], strict=True)) == [
            (10.0, 2.0),
            (30.0, 1.0),
        ]
        assert datum["Dimensions"][0] == {"Name": "Service", "Value": "market-data"}


def test_percentiles_use_nearest_rank_over_the_raw_values() -> None:
    metrics = MetricsRecorder("gateway")
    for value in range(1, 101):
        metrics.record("EventLag", float(value), unit="Milliseconds")
    assert metrics.percentiles("EventLag", unit="Milliseconds") == {
        "p50": 50.0,
        "p95": 95.0,
        "p99": 99.0,
    }
    assert metrics.percentiles("Nothing") == {}
    with pytest.raises(ValueError, match="no values"):
        percentile([], 0.5)


@pytest.mark.integration
async def test_flush_reaches_cloudwatch(aws: AwsClients) -> None:
    cloudwatch = await aws.client("cloudwatch")
    metrics = MetricsRecorder("servicekit-test")
    for value in (5.0, 7.0, 7.0):
        metrics.record("ToolExecutionTime", value, unit="Milliseconds")
    assert await metrics.flush(cloudwatch) == 1
    assert metrics.pending() == []
    now = datetime.now(UTC)
    statistics = await cloudwatch.get_metric_statistics(
        Namespace="MarketScope",
        MetricName="ToolExecutionTime",
        Dimensions=[{"Name": "Service", "Value": "servicekit-test"}],
        StartTime=now - timedelta(minutes=5),
        EndTime=now + timedelta(minutes=5),
        Period=60,
        Statistics=["SampleCount", "Maximum"],
    )
    [point] = statistics["Datapoints"]
    assert point["SampleCount"] == 3
    assert point["Maximum"] == 7.0
