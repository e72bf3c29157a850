"""The text family: diffusion on encodings (`tencdm`) and on token embeddings
(`embedding_diffusion`), and the autoregressive baseline (`ar_lm`)."""
