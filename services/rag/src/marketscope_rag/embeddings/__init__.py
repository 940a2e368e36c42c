"""Sentence embeddings: the port (`base.Embedder`), its backends (`minilm`, offline, the
default; `openai`, when a key is configured) and MiniLM's word-piece counter (`tokens`),
the unit of the chunk budget."""
