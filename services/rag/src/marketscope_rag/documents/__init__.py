"""A document: its event stream and folded state (`state`), its bytes in S3 (`objects`)."""
