"""Reparameterisation gradients for distributions without a location-scale form: implicit
reparameterisation (Figurnov, Mohamed & Mnih 2018), dz/dθ = −(∂F/∂θ)/(∂F/∂z) from the CDF F,
for Gamma, Beta and Dirichlet (via Gammas), von Mises and the radial component of von
Mises–Fisher samples (`implicit.py`)."""
