"""What to provision, by resource kind, generated from the catalog and the topology."""
