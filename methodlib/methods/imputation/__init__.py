"""Imputation methods (the `imputation` task): VAEAC, a zero-filled VAE and the fit-only
baselines (mean, scikit-learn's `IterativeImputer` and `KNNImputer`)."""
