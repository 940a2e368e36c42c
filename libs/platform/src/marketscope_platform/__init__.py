"""Where the MarketScope services run: AWS settings and clients, and the registry of the
five services (ports, apps, owned resources) that the CLI, provisioning and settings read."""

from marketscope_platform.aws import AwsClients, AwsSettings
from marketscope_platform.topology import SERVICES, ServiceInfo

__all__ = ["SERVICES", "AwsClients", "AwsSettings", "ServiceInfo"]
