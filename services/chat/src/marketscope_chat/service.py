"""The chat service's domain logic (no HTTP, no boto): conversations with the LLM and
analysis jobs, once they are built. Nothing is here yet."""
