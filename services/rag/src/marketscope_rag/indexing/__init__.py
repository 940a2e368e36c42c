"""Turning an uploaded document version into searchable chunks: what the bytes are and
their text (`extraction`), chunks that fit the model (`chunking`), and the job that reads,
chunks, embeds and records the result (`indexer`)."""
