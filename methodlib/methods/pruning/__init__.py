"""The pruning family: Bayesian methods that shrink a network by a per-weight or per-unit
statistic (`sparse_vd`, `vd_ard`, `sbp`), the `dense` baseline they start from and are compared
with, and `bayes_incremental`, which trains the same kind of factorised Gaussian posterior on
data that arrive in chunks. `dense` lives here, not with the shared base, because it is the
pruning studies' reference run and reports the same pruning metrics."""
