"""Bayesian compression of LSTMs (Chirkova, Lobacheva, Vetrov 2018): `dense_lstm`,
`sparsevd_lstm` and `sparsevd_voc_lstm`, for the `text_classification` task; `dense_lstm_lm` and
`sparsevd_lstm_lm`, word-level language models of the same texts, for the `word_lm` task."""
