"""Ensembles and approximate inference for classification: in-run ensembles (`sse`, `fge`,
`swag`'s draws), weight averaging (`swa`), stochastic forward passes (`mc_dropout`, `stoch_bn`,
`variance_net`) and posterior approximations (`ffg_vi`, `kfac_laplace`). All predict with a
samples axis, so every classification metric applies to each."""
