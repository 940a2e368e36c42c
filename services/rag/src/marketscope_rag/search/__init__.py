"""The chunk index and hybrid search over it: the stored chunk (`records`), the vector
half in Chroma (`vector_index`), the BM25 half (`lexical_index`), and `retrieval`, the one
writer of both that fuses their rankings."""
