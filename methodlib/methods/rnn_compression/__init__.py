"""Bayesian compression of LSTMs (Chirkova, Lobacheva, Vetrov 2018): `dense_lstm`,
`sparsevd_lstm` and `sparsevd_voc_lstm`, for the `text_classification` task."""
