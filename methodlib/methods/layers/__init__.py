"""Layers that several method families build their networks from: local reparameterisation
(`gaussian`), Gaussian layers with a prior of their own (`gaussian_prior`) and the layer factory
that swaps such layers in for every linear and convolutional layer (`factory`)."""
