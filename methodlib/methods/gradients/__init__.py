"""Reparameterisation gradients for distributions without a location-scale form: implicit
reparameterisation (Figurnov, Mohamed & Mnih 2018), dz/dθ = −(∂F/∂θ)/(∂F/∂z) from the CDF F,
for Gamma, Beta and Dirichlet (via Gammas), von Mises and the radial component of von
Mises–Fisher samples (`implicit.py`), beside the rejection-sampler reparameterisation it
replaces (RSVI, Naesseth et al. 2017, for Gamma and Dirichlet: `rsvi.py`); and gradient
estimators for stochastic binary
networks (`binary.py`): straight-through (the principled 2F'(a) backward and the ad-hoc
identity/tanh/hard-tanh proxies), REINFORCE with a baseline, Concrete and PSA, with the exact
gradient by enumeration of small networks to measure them against.
`binary_lenet.py` is the classification method `binary_activations` that trains networks
with stochastic binary hidden units by those estimators."""
