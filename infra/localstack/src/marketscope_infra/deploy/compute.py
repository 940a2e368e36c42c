"""What only AWS needs: an ECS cluster with one Fargate task definition and service per
MarketScope service, a private DNS namespace through which callers find the services, an
Application Load Balancer in front of the gateway only, and autoscaling on CPU and, for
the services that consume a queue of their own, on the backlog per task."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from marketscope_infra.definitions.model import JsonObject
from marketscope_infra.deploy.cfn import get_att, logical_id, ref, sub
from marketscope_platform.topology import ServiceInfo

CLUSTER = "Cluster"
NAMESPACE = "ServiceNamespace"
NAMESPACE_NAME = "marketscope.internal"
LOAD_BALANCER = "LoadBalancer"
TARGET_GROUP = "GatewayTargetGroup"
LISTENERS = ("HttpListener", "HttpsListener")
BALANCER_GROUP = "LoadBalancerSecurityGroup"
SERVICES_GROUP = "ServicesSecurityGroup"
INTERNAL_KEY_SECRET = "InternalKeySecret"
INTERNAL_KEY_NAME = "marketscope/internal-key"
HAS_CERTIFICATE = "HasCertificate"
EDGE_SERVICE = "gateway"
CPU_TARGET_PERCENT = 60
FARGATE_CPU = ["256", "512", "1024", "2048", "4096"]
# Services that keep a local projection each task would build only in part: one task,
# unless the operator chooses otherwise and knows why.
SINGLE_TASK = {
    "rag": (
        "Most rag tasks. Each task keeps its own vector index, fed by the documents it "
        "indexes itself: keep 1 unless every task reconciles its index from the store"
    )
}


def service_id(service: str, kind: str) -> str:
    return logical_id(service, kind)


@dataclass(frozen=True)
class ServiceWiring:
    """Names the spec part of the template decides and the compute part uses."""

    log_groups: Mapping[str, str]
    environment: Mapping[str, Mapping[str, object]]


def parameters(services: Mapping[str, ServiceInfo]) -> JsonObject:
    shared: JsonObject = {
        "VpcId": {"Type": "AWS::EC2::VPC::Id", "Description": "The VPC every task runs in"},
        "ServiceSubnetIds": {
            "Type": "List<AWS::EC2::Subnet::Id>",
            "Description": (
                "Subnets of the tasks: private ones with a NAT gateway, "
                "or public ones with AssignPublicIp ENABLED"
            ),
        },
        "LoadBalancerSubnetIds": {
            "Type": "List<AWS::EC2::Subnet::Id>",
            "Description": "Public subnets of the load balancer, in at least two zones",
        },
        "AssignPublicIp": {
            "Type": "String",
            "AllowedValues": ["ENABLED", "DISABLED"],
            "Default": "DISABLED",
            "Description": "ENABLED when the task subnets are public (no NAT gateway)",
        },
        "IngressCidr": {
            "Type": "String",
            "Default": "0.0.0.0/0",
            "AllowedPattern": r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$",
            "Description": "Who may reach the load balancer",
        },
        "CertificateArn": {
            "Type": "String",
            "Default": "",
            "Description": "An ACM certificate for HTTPS; empty serves plain HTTP on port 80",
        },
        "IdleTimeoutSeconds": {
            "Type": "Number",
            "Default": 300,
            "MinValue": 60,
            "MaxValue": 4000,
            "Description": "Load balancer idle timeout: long enough for chat's SSE streams",
        },
        "BacklogPerTask": {
            "Type": "Number",
            "Default": 100,
            "MinValue": 1,
            "Description": "Queued messages per task the consumers scale out to keep",
        },
    }
    per_service: JsonObject = {}
    for name in services:
        per_service[service_id(name, "Image")] = {
            "Type": "String",
            "Description": f"{name}'s image (services/Dockerfile with SERVICE={name})",
        }
        per_service[service_id(name, "Cpu")] = {
            "Type": "String",
            "AllowedValues": FARGATE_CPU,
            "Default": "512" if name == EDGE_SERVICE else "256",
            "Description": f"{name}'s task CPU units",
        }
        per_service[service_id(name, "Memory")] = {
            "Type": "String",
            "Default": "1024",
            "AllowedPattern": r"^\d+$",
            "Description": f"{name}'s task memory (MiB), a size Fargate allows with its CPU",
        }
        per_service[service_id(name, "MinTasks")] = {
            "Type": "Number",
            "Default": 1,
            "MinValue": 1,
            "Description": f"Fewest {name} tasks",
        }
        per_service[service_id(name, "MaxTasks")] = {
            "Type": "Number",
            "Default": 1 if name in SINGLE_TASK else 4,
            "MinValue": 1,
            "Description": SINGLE_TASK.get(name, f"Most {name} tasks"),
        }
    return {**shared, **per_service}


def conditions() -> JsonObject:
    return {HAS_CERTIFICATE: {"Fn::Not": [{"Fn::Equals": [ref("CertificateArn"), ""]}]}}


def _network(services: Mapping[str, ServiceInfo]) -> dict[str, JsonObject]:
    edge = services[EDGE_SERVICE]
    inner = [info for info in services.values() if info.name != EDGE_SERVICE]
    resources: dict[str, JsonObject] = {
        BALANCER_GROUP: {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": "MarketScope load balancer: HTTP and HTTPS from IngressCidr",
                "VpcId": ref("VpcId"),
                "SecurityGroupIngress": [
                    {
                        "IpProtocol": "tcp",
                        "FromPort": port,
                        "ToPort": port,
                        "CidrIp": ref("IngressCidr"),
                    }
                    for port in (80, 443)
                ],
            },
        },
        SERVICES_GROUP: {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": (
                    "MarketScope services: the gateway from the load balancer, "
                    "the others from the services"
                ),
                "VpcId": ref("VpcId"),
            },
        },
        "GatewayFromLoadBalancer": {
            "Type": "AWS::EC2::SecurityGroupIngress",
            "Properties": {
                "GroupId": ref(SERVICES_GROUP),
                "IpProtocol": "tcp",
                "FromPort": edge.port,
                "ToPort": edge.port,
                "SourceSecurityGroupId": ref(BALANCER_GROUP),
                "Description": "the load balancer to the gateway",
            },
        },
    }
    if inner:
        resources["ServicesFromServices"] = {
            "Type": "AWS::EC2::SecurityGroupIngress",
            "Properties": {
                "GroupId": ref(SERVICES_GROUP),
                "IpProtocol": "tcp",
                "FromPort": min(info.port for info in inner),
                "ToPort": max(info.port for info in inner),
                "SourceSecurityGroupId": ref(SERVICES_GROUP),
                "Description": "the services' calls to one another",
            },
        }
    return resources


def _load_balancer(edge: ServiceInfo) -> dict[str, JsonObject]:
    forward = [{"Type": "forward", "TargetGroupArn": ref(TARGET_GROUP)}]
    redirect = [
        {
            "Type": "redirect",
            "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"},
        }
    ]
    return {
        LOAD_BALANCER: {
            "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "Properties": {
                "Name": "marketscope",
                "Type": "application",
                "Scheme": "internet-facing",
                "Subnets": ref("LoadBalancerSubnetIds"),
                "SecurityGroups": [ref(BALANCER_GROUP)],
                "LoadBalancerAttributes": [
                    {"Key": "idle_timeout.timeout_seconds", "Value": ref("IdleTimeoutSeconds")},
                    {"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"},
                ],
            },
        },
        TARGET_GROUP: {
            "Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
            "Properties": {
                "Name": "marketscope-gateway",
                "TargetType": "ip",
                "Protocol": "HTTP",
                "Port": edge.port,
                "VpcId": ref("VpcId"),
                "HealthCheckPath": "/readyz",
                "HealthCheckIntervalSeconds": 15,
                "HealthyThresholdCount": 2,
                "Matcher": {"HttpCode": "200"},
                "TargetGroupAttributes": [
                    {"Key": "deregistration_delay.timeout_seconds", "Value": "30"}
                ],
            },
        },
        LISTENERS[0]: {
            "Type": "AWS::ElasticLoadBalancingV2::Listener",
            "Properties": {
                "LoadBalancerArn": ref(LOAD_BALANCER),
                "Port": 80,
                "Protocol": "HTTP",
                "DefaultActions": {"Fn::If": [HAS_CERTIFICATE, redirect, forward]},
            },
        },
        LISTENERS[1]: {
            "Type": "AWS::ElasticLoadBalancingV2::Listener",
            "Condition": HAS_CERTIFICATE,
            "Properties": {
                "LoadBalancerArn": ref(LOAD_BALANCER),
                "Port": 443,
                "Protocol": "HTTPS",
                "SslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
                "Certificates": [{"CertificateArn": ref("CertificateArn")}],
                "DefaultActions": forward,
            },
        },
    }


def _discovery(services: Mapping[str, ServiceInfo]) -> dict[str, JsonObject]:
    resources: dict[str, JsonObject] = {
        NAMESPACE: {
            "Type": "AWS::ServiceDiscovery::PrivateDnsNamespace",
            "Properties": {
                "Name": NAMESPACE_NAME,
                "Vpc": ref("VpcId"),
                "Description": "Where MarketScope's services find one another",
            },
        }
    }
    for name in called_services(services):
        resources[service_id(name, "Discovery")] = {
            "Type": "AWS::ServiceDiscovery::Service",
            "Properties": {
                "Name": name,
                "NamespaceId": get_att(NAMESPACE, "Id"),
                "DnsConfig": {
                    "RoutingPolicy": "MULTIVALUE",
                    "DnsRecords": [{"Type": "A", "TTL": 10}],
                },
                "HealthCheckCustomConfig": {"FailureThreshold": 1},
            },
        }
    return resources


def called_services(services: Mapping[str, ServiceInfo]) -> list[str]:
    called = {callee for info in services.values() for callee in info.calls}
    return [name for name in services if name in called]


def internal_url(info: ServiceInfo) -> str:
    return f"http://{info.name}.{NAMESPACE_NAME}:{info.port}"


def _container(
    info: ServiceInfo, services: Mapping[str, ServiceInfo], wiring: ServiceWiring
) -> JsonObject:
    environment: dict[str, object] = {
        # Empty: the real AWS endpoints of the task's region, with the task role's credentials.
        "AWS_ENDPOINT_URL": "",
        "AWS_DEFAULT_REGION": ref("AWS::Region"),
        f"{info.env_prefix}HOST": "0.0.0.0",
        # The awslogs driver ships the container's output to the service's log group.
        f"{info.env_prefix}SHIP_LOGS": "false",
        **{
            f"{info.env_prefix}{callee.replace('-', '_').upper()}_URL": internal_url(
                services[callee]
            )
            for callee in info.calls
        },
        **wiring.environment.get(info.name, {}),
    }
    return {
        "Name": info.name,
        "Image": ref(service_id(info.name, "Image")),
        "Essential": True,
        "PortMappings": [{"ContainerPort": info.port, "Protocol": "tcp"}],
        "Environment": [{"Name": key, "Value": value} for key, value in environment.items()],
        "Secrets": [{"Name": "MARKETSCOPE_INTERNAL_KEY", "ValueFrom": ref(INTERNAL_KEY_SECRET)}],
        "HealthCheck": {
            "Command": [
                "CMD",
                "python",
                "-c",
                "import urllib.request; urllib.request.urlopen("
                f"'http://127.0.0.1:{info.port}/healthz', timeout=2)",
            ],
            "Interval": 10,
            "Timeout": 3,
            "Retries": 3,
            "StartPeriod": 20,
        },
        "StopTimeout": 30,
        "LogConfiguration": {
            "LogDriver": "awslogs",
            "Options": {
                "awslogs-group": ref(wiring.log_groups[info.name]),
                "awslogs-region": ref("AWS::Region"),
                "awslogs-stream-prefix": "ecs",
            },
        },
    }


def _service(
    info: ServiceInfo, services: Mapping[str, ServiceInfo], wiring: ServiceWiring
) -> dict[str, JsonObject]:
    name = info.name
    task, service = service_id(name, "TaskDefinition"), service_id(name, "Service")
    resources: dict[str, JsonObject] = {
        task: {
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": {
                "Family": f"marketscope-{name}",
                "RequiresCompatibilities": ["FARGATE"],
                "NetworkMode": "awsvpc",
                "Cpu": ref(service_id(name, "Cpu")),
                "Memory": ref(service_id(name, "Memory")),
                "ExecutionRoleArn": get_att(service_id(name, "ExecutionRole"), "Arn"),
                "TaskRoleArn": get_att(service_id(name, "TaskRole"), "Arn"),
                "RuntimePlatform": {
                    "OperatingSystemFamily": "LINUX",
                    "CpuArchitecture": "X86_64",
                },
                "ContainerDefinitions": [_container(info, services, wiring)],
            },
        }
    }
    properties: JsonObject = {
        "ServiceName": name,
        "Cluster": ref(CLUSTER),
        "TaskDefinition": ref(task),
        "LaunchType": "FARGATE",
        "DesiredCount": ref(service_id(name, "MinTasks")),
        "PropagateTags": "SERVICE",
        "DeploymentConfiguration": {
            "MinimumHealthyPercent": 100,
            "MaximumPercent": 200,
            "DeploymentCircuitBreaker": {"Enable": True, "Rollback": True},
        },
        "NetworkConfiguration": {
            "AwsvpcConfiguration": {
                "Subnets": ref("ServiceSubnetIds"),
                "SecurityGroups": [ref(SERVICES_GROUP)],
                "AssignPublicIp": ref("AssignPublicIp"),
            }
        },
    }
    depends: list[str] = []
    if name == EDGE_SERVICE:
        properties["LoadBalancers"] = [
            {"ContainerName": name, "ContainerPort": info.port, "TargetGroupArn": ref(TARGET_GROUP)}
        ]
        properties["HealthCheckGracePeriodSeconds"] = 60
        depends.append(LISTENERS[0])
    if name in called_services(services):
        properties["ServiceRegistries"] = [
            {"RegistryArn": get_att(service_id(name, "Discovery"), "Arn")}
        ]
    resources[service] = {"Type": "AWS::ECS::Service", "Properties": properties}
    if depends:
        resources[service]["DependsOn"] = depends
    resources.update(_scaling(info, service))
    return resources


def _scaling(info: ServiceInfo, service: str) -> dict[str, JsonObject]:
    name = info.name
    target = service_id(name, "ScalableTarget")
    resources: dict[str, JsonObject] = {
        target: {
            "Type": "AWS::ApplicationAutoScaling::ScalableTarget",
            "Properties": {
                "ServiceNamespace": "ecs",
                "ScalableDimension": "ecs:service:DesiredCount",
                "ResourceId": sub(f"service/${{{CLUSTER}}}/${{{service}.Name}}"),
                "MinCapacity": ref(service_id(name, "MinTasks")),
                "MaxCapacity": ref(service_id(name, "MaxTasks")),
            },
        },
        service_id(name, "CpuScaling"): {
            "Type": "AWS::ApplicationAutoScaling::ScalingPolicy",
            "Properties": {
                "PolicyName": f"marketscope-{name}-cpu",
                "PolicyType": "TargetTrackingScaling",
                "ScalingTargetId": ref(target),
                "TargetTrackingScalingPolicyConfiguration": {
                    "PredefinedMetricSpecification": {
                        "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
                    },
                    "TargetValue": CPU_TARGET_PERCENT,
                    "ScaleInCooldown": 120,
                    "ScaleOutCooldown": 60,
                },
            },
        },
    }
    if info.queue is not None and not info.per_instance_queue:
        resources[service_id(name, "BacklogScaling")] = _backlog_policy(info, target, service)
    return resources


def _backlog_policy(info: ServiceInfo, target: str, service: str) -> JsonObject:
    """Queue depth divided by running tasks, held near BacklogPerTask (AWS's recommended
    way to scale a queue consumer)."""
    return {
        "Type": "AWS::ApplicationAutoScaling::ScalingPolicy",
        "Properties": {
            "PolicyName": f"marketscope-{info.name}-backlog",
            "PolicyType": "TargetTrackingScaling",
            "ScalingTargetId": ref(target),
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue": ref("BacklogPerTask"),
                "ScaleInCooldown": 300,
                "ScaleOutCooldown": 60,
                "CustomizedMetricSpecification": {
                    "Metrics": [
                        {
                            "Id": "queued",
                            "ReturnData": False,
                            "MetricStat": {
                                "Metric": {
                                    "Namespace": "AWS/SQS",
                                    "MetricName": "ApproximateNumberOfMessagesVisible",
                                    "Dimensions": [{"Name": "QueueName", "Value": info.queue}],
                                },
                                "Stat": "Sum",
                            },
                        },
                        {
                            "Id": "tasks",
                            "ReturnData": False,
                            "MetricStat": {
                                "Metric": {
                                    "Namespace": "ECS/ContainerInsights",
                                    "MetricName": "RunningTaskCount",
                                    "Dimensions": [
                                        {"Name": "ClusterName", "Value": ref(CLUSTER)},
                                        {"Name": "ServiceName", "Value": get_att(service, "Name")},
                                    ],
                                },
                                "Stat": "Average",
                            },
                        },
                        {
                            "Id": "backlog_per_task",
                            "Label": "queued messages per running task",
                            "Expression": "queued / tasks",
                            "ReturnData": True,
                        },
                    ]
                },
            },
        },
    }


def _roles(
    info: ServiceInfo, task_policy: JsonObject, execution_policy: JsonObject, trust: JsonObject
) -> dict[str, JsonObject]:
    name = info.name
    return {
        service_id(name, "TaskRole"): {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Description": f"What {name}'s code may do: only its own resources",
                "AssumeRolePolicyDocument": trust,
                "Policies": [{"PolicyName": f"marketscope-{name}", "PolicyDocument": task_policy}],
            },
        },
        service_id(name, "ExecutionRole"): {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Description": f"What ECS needs to start {name}'s tasks",
                "AssumeRolePolicyDocument": trust,
                "Policies": [
                    {"PolicyName": f"marketscope-{name}-start", "PolicyDocument": execution_policy}
                ],
            },
        },
    }


def compute_resources(
    services: Mapping[str, ServiceInfo],
    wiring: ServiceWiring,
    policies: Mapping[str, tuple[JsonObject, JsonObject]],
    trust: JsonObject,
) -> dict[str, JsonObject]:
    resources: dict[str, JsonObject] = {
        CLUSTER: {
            "Type": "AWS::ECS::Cluster",
            "Properties": {
                "ClusterName": "marketscope",
                "ClusterSettings": [{"Name": "containerInsights", "Value": "enabled"}],
            },
        },
        INTERNAL_KEY_SECRET: {
            "Type": "AWS::SecretsManager::Secret",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "Name": INTERNAL_KEY_NAME,
                "Description": (
                    "The key the gateway signs callers' identities with and every service verifies"
                ),
                "GenerateSecretString": {"PasswordLength": 64, "ExcludePunctuation": True},
            },
        },
        **_network(services),
        **_load_balancer(services[EDGE_SERVICE]),
        **_discovery(services),
    }
    for info in services.values():
        task_policy, execution_policy = policies[info.name]
        resources.update(_roles(info, task_policy, execution_policy, trust))
        resources.update(_service(info, services, wiring))
    return resources


def outputs() -> JsonObject:
    return {
        "Url": {
            "Description": "The web app and the API",
            "Value": {
                "Fn::If": [
                    HAS_CERTIFICATE,
                    sub(f"https://${{{LOAD_BALANCER}.DNSName}}/"),
                    sub(f"http://${{{LOAD_BALANCER}.DNSName}}/"),
                ]
            },
        },
        "ClusterName": {"Description": "The ECS cluster", "Value": ref(CLUSTER)},
    }
