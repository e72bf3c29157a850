"""`ffg_vi`: fully factorised Gaussian variational inference ("Bayes by backprop", Blundell et
al. 2015, trained with the local reparameterisation trick of Kingma et al. 2015), one of the
baselines of the Pitfalls study (Ashukha et al. 2020).

Every weight of every linear and conv layer has its own posterior q(w) = N(μ, σ²), σ² = exp(log
σ²), under the prior p(w) = N(0, s²), s = `prior_std`; biases are point estimates. Training
maximises the evidence lower bound, per example:

    L = E_q[−log p(y | x, w)] + β·KL(q ‖ p)/N,
    KL(q ‖ p) = Σ_w log(s/σ) + (σ² + μ²)/(2s²) − ½,

where the expectation is one local-reparameterisation draw per example (see `layers.gaussian`),
N the number of training examples and β = `kl_weight` (β = 1 is the ELBO; `kl_warmup` ramps it
up from 0). σ starts at `sigma_init`, so training starts as the deterministic network; with
`init_from` a dense run's weights become μ. The test prediction averages the softmax of
`samples` forward passes, each with independently sampled weights.
"""

from __future__ import annotations

import torch
from torch import nn

from methodlib.methods.base import SampledClassifier
from methodlib.methods.ensembles.configs import FFGVIConfig
from methodlib.methods.layers.factory import ReplacingLayers
from methodlib.methods.layers.gaussian import GaussianConv2d, GaussianLinear
from methodlib.methods.pruning.variational import VariationalMethod
from methodlib.models import Layers


class FFGVI(SampledClassifier):
    Config = FFGVIConfig
    config: FFGVIConfig

    # The ELBO objective, its β schedule, the separate learning rate of log σ² and loading a
    # dense checkpoint into μ are those of the Bayesian pruning methods (which prune; this
    # does not, hence no subclass).
    loss = VariationalMethod.loss
    beta = VariationalMethod.beta
    param_groups = VariationalMethod.param_groups
    init_from = VariationalMethod.init_from

    def layers(self) -> Layers:
        return ReplacingLayers(GaussianLinear, GaussianConv2d, self.config.sigma_init)

    def kl(self, model: nn.Module) -> torch.Tensor:
        return sum(
            m.kl(self.config.prior_std)
            for m in model.modules()
            if isinstance(m, GaussianLinear | GaussianConv2d)
        )

    @torch.no_grad()
    def epoch_metrics(self, model: nn.Module) -> dict[str, float]:
        log_sigma2 = torch.cat(
            [
                m.log_sigma2.flatten()
                for m in model.modules()
                if isinstance(m, GaussianLinear | GaussianConv2d)
            ]
        )
        return {
            "kl_per_example": self.kl(model).item() / self.info.n_train,
            "median_sigma": (0.5 * log_sigma2.median()).exp().item(),
        }
