"""HTTP request and response models of the notifier service.

There are none yet: the service has no routes besides health. The routes that come with
the alerts, the inbox and the webhooks bring their models here.
"""
