"""One IAM task role per service that allows exactly what the service does, on exactly
what it owns: its table and indexes, its queue(s) and DLQ, the topics it publishes, its
own prefix of the documents bucket, its own log group, the secret it reads, X-Ray and
CloudWatch metrics in the MarketScope namespace. IAM then enforces the rule that no
service reads another service's table or prefix.

Two grants reach beyond one service, both narrow and named here:
- the gateway's ops pages (admins only) read every MarketScope queue's depth and redrive
  a DLQ into its queue;
- the notifier sends SMS, which SNS authorises on ``*``; an explicit deny keeps it from
  publishing to any topic but its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from marketscope_events.catalog import Catalog, dlq_name, queue_name
from marketscope_infra.definitions.model import JsonObject, Resource, bucket_arn
from marketscope_infra.deploy.cfn import stack_arn, sub
from marketscope_infra.deploy.spec_resources import stack_bucket_name
from marketscope_platform.topology import (
    DOCUMENTS_BUCKET,
    SECRET_NAME,
    USER_NOTIFICATIONS_TOPIC,
    ServiceInfo,
    log_group_name,
)

METRICS_NAMESPACE = "MarketScope"
SMS_SENDERS = frozenset({"notifier"})
OPS_SERVICE = "gateway"

TABLE_ACTIONS = [
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:UpdateItem",
]
CONSUMER_ACTIONS = [
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ReceiveMessage",
    "sqs:SendMessage",
]
# The gateway makes, subscribes and removes one queue per instance.
INSTANCE_QUEUE_ACTIONS = [
    *CONSUMER_ACTIONS,
    "sqs:CreateQueue",
    "sqs:DeleteQueue",
    "sqs:SetQueueAttributes",
    "sqs:TagQueue",
]
OBJECT_ACTIONS = [
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:PutObject",
]
LIST_ACTIONS = ["s3:ListBucket", "s3:ListBucketVersions"]
LOG_ACTIONS = ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]
TRACE_ACTIONS = [
    "xray:GetSamplingRules",
    "xray:GetSamplingStatisticSummaries",
    "xray:GetSamplingTargets",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
]


def table_arns(table: str) -> list[JsonObject]:
    return [
        stack_arn("dynamodb", f"table/{table}"),
        stack_arn("dynamodb", f"table/{table}/index/*"),
    ]


def queue_arns(*queues: str) -> list[JsonObject]:
    return [stack_arn("sqs", queue) for queue in queues]


def topic_arns(topics: Sequence[str]) -> list[JsonObject]:
    return [stack_arn("sns", topic) for topic in topics]


def documents_bucket_arn() -> JsonObject:
    return sub(bucket_arn(stack_bucket_name(DOCUMENTS_BUCKET)))


def prefix_arn(prefix: str) -> JsonObject:
    return sub(f"{bucket_arn(stack_bucket_name(DOCUMENTS_BUCKET))}/{prefix}*")


def secret_arn() -> JsonObject:
    # Secrets Manager appends six random characters to a secret's ARN.
    return stack_arn("secretsmanager", f"secret:{SECRET_NAME}-??????")


def log_group_arns(service: str) -> list[JsonObject]:
    group = log_group_name(service)
    return [stack_arn("logs", f"log-group:{group}"), stack_arn("logs", f"log-group:{group}:*")]


def _allow(sid: str, actions: Sequence[str], resources: object, **extra: object) -> JsonObject:
    return {"Sid": sid, "Effect": "Allow", "Action": list(actions), "Resource": resources, **extra}


def published_topics(spec: Sequence[Resource], service: str) -> list[str]:
    return sorted(
        resource.name
        for resource in spec
        if resource.kind == "topic" and resource.properties.get("producer") == service
    )


def consumed_topics(catalog: Catalog, service: str) -> list[str]:
    return sorted(
        topic for subscription in catalog.subscriptions_of(service) if (topic := subscription.topic)
    )


def _queue_statements(info: ServiceInfo, catalog: Catalog) -> list[JsonObject]:
    if info.per_instance_queue:
        topics = consumed_topics(catalog, info.name)
        return [
            _allow(
                "OwnInstanceQueues",
                INSTANCE_QUEUE_ACTIONS,
                queue_arns(f"{queue_name(info.name)}-*"),
            ),
            _allow(
                "SubscribeOwnInstanceQueues",
                ["sns:Subscribe", "sns:Unsubscribe"],
                [*topic_arns(topics), *(stack_arn("sns", f"{topic}:*") for topic in topics)],
            ),
        ]
    if info.queue is None:
        return []
    return [_allow("OwnQueue", CONSUMER_ACTIONS, queue_arns(info.queue, dlq_name(info.name)))]


def _publish_statements(info: ServiceInfo, spec: Sequence[Resource]) -> list[JsonObject]:
    topics = published_topics(spec, info.name)
    statements: list[JsonObject] = []
    if topics:
        statements.append(_allow("PublishOwnTopics", ["sns:Publish"], topic_arns(topics)))
    if USER_NOTIFICATIONS_TOPIC in topics:
        # E-mail subscriptions are made per user, with a filter policy on the owner.
        statements.append(
            _allow(
                "ManageUserSubscriptions",
                ["sns:Subscribe", "sns:Unsubscribe", "sns:SetSubscriptionAttributes"],
                [
                    *topic_arns([USER_NOTIFICATIONS_TOPIC]),
                    stack_arn("sns", f"{USER_NOTIFICATIONS_TOPIC}:*"),
                ],
            )
        )
    if info.name in SMS_SENDERS:
        others = sorted(
            resource.name
            for resource in spec
            if resource.kind == "topic" and resource.name not in topics
        )
        statements.append(_allow("SendSms", ["sns:Publish"], "*"))
        statements.append(
            {
                "Sid": "PublishNoOtherTopic",
                "Effect": "Deny",
                "Action": ["sns:Publish"],
                "Resource": topic_arns(others),
            }
        )
    return statements


def _bucket_statements(info: ServiceInfo) -> list[JsonObject]:
    if info.bucket_prefix is None:
        return []
    return [
        _allow("OwnPrefixObjects", OBJECT_ACTIONS, [prefix_arn(info.bucket_prefix)]),
        _allow(
            "ListOwnPrefix",
            LIST_ACTIONS,
            [documents_bucket_arn()],
            Condition={"StringLike": {"s3:prefix": [f"{info.bucket_prefix}*"]}},
        ),
    ]


def _ops_statements(info: ServiceInfo, services: Mapping[str, ServiceInfo]) -> list[JsonObject]:
    if info.name != OPS_SERVICE:
        return []
    queues = sorted(q for other in services.values() for q in (other.queue, other.dlq) if q)
    dlqs = sorted(other.dlq for other in services.values() if other.dlq and other.queue)
    targets = sorted(other.queue for other in services.values() if other.queue)
    return [
        _allow("OpsListQueues", ["sqs:ListQueues"], "*"),
        _allow(
            "OpsQueueDepths", ["sqs:GetQueueAttributes", "sqs:GetQueueUrl"], queue_arns(*queues)
        ),
        _allow(
            "OpsRedriveFromDeadLetters",
            ["sqs:ReceiveMessage", "sqs:DeleteMessage"],
            queue_arns(*dlqs),
        ),
        _allow("OpsRedriveIntoQueues", ["sqs:SendMessage"], queue_arns(*targets)),
    ]


def task_policy(
    info: ServiceInfo,
    *,
    spec: Sequence[Resource],
    catalog: Catalog,
    services: Mapping[str, ServiceInfo],
) -> JsonObject:
    statements = [
        _allow("OwnTable", TABLE_ACTIONS, table_arns(info.table)),
        *_queue_statements(info, catalog),
        *_publish_statements(info, spec),
        *_bucket_statements(info),
        *(
            [_allow("ReadSecret", ["secretsmanager:GetSecretValue"], [secret_arn()])]
            if info.secret_keys
            else []
        ),
        _allow("OwnLogGroup", LOG_ACTIONS, log_group_arns(info.name)),
        _allow(
            "PutMetrics",
            ["cloudwatch:PutMetricData"],
            "*",
            Condition={"StringEquals": {"cloudwatch:namespace": METRICS_NAMESPACE}},
        ),
        _allow("Traces", TRACE_ACTIONS, "*"),
        *_ops_statements(info, services),
    ]
    return {"Version": "2012-10-17", "Statement": statements}


ASSUMED_BY_ECS_TASKS: JsonObject = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Action": "sts:AssumeRole",
            # Only tasks of this account may assume it (the confused-deputy guard).
            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
        }
    ],
}


def execution_policy(info: ServiceInfo, internal_key_secret: JsonObject) -> JsonObject:
    """What ECS itself needs to start the service's task: pull its image, write its log
    group, and read the internal key it injects into the container."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            _allow("PullImages", ["ecr:GetAuthorizationToken"], "*"),
            _allow(
                "PullImageLayers",
                [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                ],
                "*",
            ),
            _allow(
                "ContainerLogs",
                ["logs:CreateLogStream", "logs:PutLogEvents"],
                log_group_arns(info.name),
            ),
            _allow("InjectInternalKey", ["secretsmanager:GetSecretValue"], [internal_key_secret]),
        ],
    }
