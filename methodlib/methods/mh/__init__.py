"""Metropolis–Hastings samplers trained by the lower bound on the MH acceptance rate
(Neklyudov, Shvechikov & Vetrov 2018): `mh_explicit` for a target known up to a constant,
`mh_gan` for a target given by samples. The shared MH arithmetic is in `acceptance.py`."""
