"""MarketScope provisioning: ``spec`` generates resources.json from the event catalog,
``apply`` makes those resources exist.

This file imports nothing on purpose: ``apply.py`` also runs inside the LocalStack
container, whose Python has boto3 but none of the workspace's packages.
"""
