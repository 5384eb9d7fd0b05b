"""Shop data and candidate generation: catalog, embeddings, Chroma index, CF models.

This layer knows shops, not language models: nothing here imports `assistant`.
"""
