"""CloudWatch Logs groups and the alarms that notify the ops topic."""

from __future__ import annotations

from collections.abc import Iterable

from marketscope_events.catalog import dlq_name
from marketscope_infra.definitions.metrics import NAMESPACE, SERVICE_DIMENSION
from marketscope_infra.definitions.model import JsonObject, Resource, topic_arn
from marketscope_infra.definitions.scheduling import SCHEDULED_RULES
from marketscope_platform.topology import OPS_TOPIC, log_group_name

LOG_RETENTION_DAYS = 14

API_LATENCY_P95_THRESHOLD_MS = 2000.0
# Errors are unhandled exceptions and 5xx answers. More than 5 a minute in 3 of the last
# 5 minutes is a sustained failure at this platform's traffic; one burst (a deploy, one
# flaky upstream call) does not page anyone.
ERRORS_PER_MINUTE_THRESHOLD = 5.0


def log_groups(services: Iterable[str]) -> list[Resource]:
    return [
        Resource("log-group", log_group_name(service), {"retention_in_days": LOG_RETENTION_DAYS})
        for service in services
    ]


def alarm_name(subject: str, condition: str) -> str:
    return f"marketscope-{subject}-{condition}"


def _alarm(name: str, description: str, metric: JsonObject, **evaluation: object) -> Resource:
    """A threshold alarm; missing data (no traffic) is fine, and both the alarm and its
    recovery go to the ops topic."""
    ops = topic_arn(OPS_TOPIC)
    definition: JsonObject = {
        "AlarmName": name,
        "AlarmDescription": description,
        "ActionsEnabled": True,
        "AlarmActions": [ops],
        "OKActions": [ops],
        **metric,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
        **evaluation,
    }
    return Resource("alarm", name, {"definition": definition})


def _service_metric(metric: str, service: str, statistic: str) -> JsonObject:
    stat_key = "ExtendedStatistic" if statistic.startswith("p") else "Statistic"
    return {
        "Namespace": NAMESPACE,
        "MetricName": metric,
        "Dimensions": [{"Name": SERVICE_DIMENSION, "Value": service}],
        stat_key: statistic,
    }


def service_alarms(service: str) -> list[Resource]:
    return [
        _alarm(
            alarm_name(service, "api-latency-p95"),
            f"{service}: APILatency p95 above {API_LATENCY_P95_THRESHOLD_MS:g} ms"
            " in 3 of the last 5 minutes",
            _service_metric("APILatency", service, "p95"),
            Period=60,
            EvaluationPeriods=5,
            DatapointsToAlarm=3,
            Threshold=API_LATENCY_P95_THRESHOLD_MS,
        ),
        _alarm(
            alarm_name(service, "error-rate"),
            f"{service}: more than {ERRORS_PER_MINUTE_THRESHOLD:g} errors a minute"
            " in 3 of the last 5 minutes",
            _service_metric("Errors", service, "Sum"),
            Period=60,
            EvaluationPeriods=5,
            DatapointsToAlarm=3,
            Threshold=ERRORS_PER_MINUTE_THRESHOLD,
        ),
    ]


def dlq_alarm(service: str) -> Resource:
    dlq = dlq_name(service)
    return _alarm(
        alarm_name(f"{service}-dlq", "depth"),
        f"{dlq} holds messages: {service} gave up on them",
        {
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": dlq}],
            "Statistic": "Maximum",
        },
        Period=60,
        EvaluationPeriods=1,
        DatapointsToAlarm=1,
        Threshold=0.0,
    )


def scheduled_refresh_alarms() -> list[Resource]:
    return [
        _alarm(
            f"{rule.name}-failures",
            f"{rule.consumer} reported a failed scheduled refresh ({rule.name})",
            _service_metric("ScheduledRefreshFailures", rule.consumer, "Sum"),
            Period=300,
            EvaluationPeriods=1,
            DatapointsToAlarm=1,
            Threshold=0.0,
        )
        for rule in SCHEDULED_RULES
    ]


def alarms(services: Iterable[str], dlq_services: Iterable[str]) -> list[Resource]:
    return [
        *(alarm for service in services for alarm in service_alarms(service)),
        *(dlq_alarm(service) for service in dlq_services),
        *scheduled_refresh_alarms(),
    ]
