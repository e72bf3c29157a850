"""Adaptive computation time: residual networks that decide how many units to run per image
(ACT), per spatial position (SACT) or by discrete halting variables (PACT)."""
