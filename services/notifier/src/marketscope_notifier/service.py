"""The notifier service's domain logic (no HTTP, no boto): price alerts, the in-app inbox
and webhook deliveries, once they are built. Nothing is here yet."""
