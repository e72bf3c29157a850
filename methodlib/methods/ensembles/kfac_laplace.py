"""`kfac_laplace`: a Kronecker-factored Laplace approximation (Ritter, Botev, Barber 2018, "A
Scalable Laplace Approximation for Neural Networks"), a baseline of the Pitfalls study (Ashukha
et al. 2020).

Training is maximum likelihood, as `dense` (`training.weight_decay` d is a Gaussian prior of
precision N·d). After the last epoch, every linear and conv layer gets a Gaussian posterior around
its trained weights W* (out × in+1, the bias as the last column) whose precision is its block of
the Fisher, Kronecker factored (K-FAC, Martens & Grosse 2015):

    F_l ≈ A ⊗ G,   A = E[ā āᵀ] (ā = the layer's input with a 1 appended),
                   G = E[g gᵀ] (g = ∂(−log p(ŷ | x))/∂(pre-activation), ŷ ~ p(y | x, W*)),

labels ŷ drawn from the model's own predictive, so that E[g gᵀ] is the true Fisher's, not the
empirical one. Convolutions use KFC (Grosse & Martens 2016): ā runs over the im2col patches of
every output position t, A = E[Σ_t ā_t ā_tᵀ] and G = E[Σ_t g_t g_tᵀ]/T, exact when
activations and derivatives are spatially homogeneous and derivatives uncorrelated across
positions. With N training examples and prior precision λ (`prior_precision`), Ritter et al.'s
damped posterior is

    W ~ MN(W*, τ·Ḡ⁻¹, Ā⁻¹),   Ā = √N·A + √λ·I,   Ḡ = √N·G + √λ·I,

i.e. vec W ~ N(vec W*, τ·(Ā ⊗ Ḡ)⁻¹), sampled as W = W* + √τ·C_G·Z·C_Aᵀ with Z standard normal
and C_A·C_Aᵀ = Ā⁻¹, C_G·C_Gᵀ = Ḡ⁻¹ (from eigendecompositions). The covariance scale τ (Ritter
et al. tune N and λ instead: τ rescales both) is the point of the `noise_scales` grid with the
lowest validation NLL, every grid point evaluated on the same Z draws. Batch-norm parameters stay
at their trained values. Predictions average the softmax of `samples` networks drawn from the
posterior; before the fit (earlier epochs) the method predicts as the trained network.

The factors, the posterior covariance and the predictive agree with laplace-torch 0.3's
(tests/methods/ensembles/test_kfac_vs_laplace_torch.py, which lines up the conventions). It is
not used here: it needs torchvision (whose PyPI wheel breaks a CPU-only torch), its
`damping=True` is lost before it reaches the posterior, and it has no covariance scale τ.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from methodlib.methods.base import ClassifierMethod, EpochContext
from methodlib.methods.ensembles.configs import KFACLaplaceConfig


def laplace_layers(model: nn.Module) -> dict[str, nn.Linear | nn.Conv2d]:
    """The linear and conv layers the posterior covers, by module name."""
    return {
        name: module
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear | nn.Conv2d)
    }


def _rows(layer: nn.Linear | nn.Conv2d, inputs: torch.Tensor) -> torch.Tensor:
    """The inputs ā the weight matrix multiplies: (batch, in[+1], positions)."""
    if isinstance(layer, nn.Conv2d):
        inputs = F.unfold(inputs, layer.kernel_size, layer.dilation, layer.padding, layer.stride)
    else:
        inputs = inputs.unsqueeze(-1)
    if layer.bias is not None:
        inputs = torch.cat([inputs, torch.ones_like(inputs[:, :1])], dim=1)
    return inputs


def kronecker_factors(
    model: nn.Module,
    layers: dict[str, nn.Linear | nn.Conv2d],
    x: torch.Tensor,
    batch_size: int,
    y: torch.Tensor | None = None,
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """K-FAC (KFC for convolutions) factors (A, G) of each layer's Fisher block on the inputs
    `x`, in evaluation mode. Labels are drawn from the model's predictive (the Fisher); given
    `y`, they are those (the empirical Fisher)."""
    captured: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def hook(name: str):
        def save(module, inputs, output):
            captured[name] = (inputs[0].detach(), output)

        return save

    handles = [layer.register_forward_hook(hook(name)) for name, layer in layers.items()]
    was_training = model.training
    model.eval()
    sums: dict[str, list[torch.Tensor]] = {}
    try:
        with torch.enable_grad():
            for i in range(0, len(x), batch_size):
                logits = model(x[i : i + batch_size])
                if y is None:
                    labels = torch.multinomial(F.softmax(logits.detach(), -1), 1).squeeze(1)
                else:
                    labels = y[i : i + batch_size]
                outputs = [captured[name][1] for name in layers]
                grads = torch.autograd.grad(
                    F.cross_entropy(logits, labels, reduction="sum"), outputs
                )
                for (name, layer), grad in zip(layers.items(), grads, strict=True):
                    a = _rows(layer, captured[name][0])
                    g = grad.flatten(2) if grad.dim() > 2 else grad.unsqueeze(-1)
                    a_sum = torch.einsum("bit,bjt->ij", a, a)
                    g_sum = torch.einsum("bit,bjt->ij", g, g) / g.shape[-1]
                    if name in sums:
                        sums[name][0] += a_sum
                        sums[name][1] += g_sum
                    else:
                        sums[name] = [a_sum, g_sum]
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return {name: (a / len(x), g / len(x)) for name, (a, g) in sums.items()}


def inverse_sqrt_factor(factor: torch.Tensor, scale: float, damping: float) -> torch.Tensor:
    """C with C·Cᵀ = (scale·factor + damping·I)⁻¹, from the eigendecomposition (in float64:
    the factors' small eigenvalues are what the damping acts on)."""
    eigvals, eigvecs = torch.linalg.eigh(factor.double())
    damped = scale * eigvals.clamp(min=0) + damping
    return (eigvecs * damped.rsqrt()).to(factor.dtype)


def _weight_matrix(layer: nn.Linear | nn.Conv2d) -> torch.Tensor:
    weight = layer.weight.flatten(1)
    return weight if layer.bias is None else torch.cat([weight, layer.bias.unsqueeze(1)], 1)


def _as_parameters(
    name: str, layer: nn.Linear | nn.Conv2d, matrix: torch.Tensor
) -> dict[str, torch.Tensor]:
    if layer.bias is None:
        return {f"{name}.weight": matrix.view_as(layer.weight)}
    return {
        f"{name}.weight": matrix[:, :-1].reshape_as(layer.weight),
        f"{name}.bias": matrix[:, -1],
    }


class KFACLaplace(ClassifierMethod):
    Config = KFACLaplaceConfig
    config: KFACLaplaceConfig

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.factors: dict[str, dict[str, torch.Tensor]] = {}
        """Per layer, the square roots C_G (`rows`, with √τ folded in) and C_A (`cols`)."""
        self.grid_nll: torch.Tensor | None = None

    def _noise(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """A posterior draw minus W*, per layer: C_G·Z·C_Aᵀ."""
        layers = laplace_layers(model)
        noise = {}
        for name, factors in self.factors.items():
            z = torch.randn_like(_weight_matrix(layers[name]))
            rows, cols = factors["rows"].to(z.device), factors["cols"].to(z.device)
            noise[name] = rows @ z @ cols.T
        return noise

    def _sampled_proba(
        self, model: nn.Module, x: torch.Tensor, noise: dict[str, torch.Tensor], scale: float = 1.0
    ) -> torch.Tensor:
        layers = laplace_layers(model)
        params: dict[str, torch.Tensor] = {}
        for name, delta in noise.items():
            matrix = _weight_matrix(layers[name]) + scale * delta
            params.update(_as_parameters(name, layers[name], matrix))
        return F.softmax(functional_call(model, params, (x,)), dim=-1)

    def _proba(self, model: nn.Module, x: torch.Tensor, samples: int) -> torch.Tensor:
        if not self.factors:
            return F.softmax(model(x), dim=-1).unsqueeze(0)
        return torch.stack(
            [self._sampled_proba(model, x, self._noise(model)) for _ in range(samples)]
        )

    @torch.no_grad()
    def predict_proba(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return self._proba(model, x, self.config.samples)

    @torch.no_grad()
    def validation_proba(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return self._proba(model, x, self.config.val_samples)

    def on_epoch_end(self, model: nn.Module, ctx: EpochContext) -> None:
        if ctx.last:
            self.fit(model, ctx)

    @torch.no_grad()
    def fit(self, model: nn.Module, ctx: EpochContext) -> None:
        """Kronecker factors on the training data, then τ by validation NLL."""
        layers = laplace_layers(model)
        kfac = kronecker_factors(model, layers, ctx.x_train, ctx.batch_size)
        root_n, root_prior = len(ctx.x_train) ** 0.5, self.config.prior_precision**0.5
        self.factors = {
            name: {
                "rows": inverse_sqrt_factor(g, root_n, root_prior),
                "cols": inverse_sqrt_factor(a, root_n, root_prior),
            }
            for name, (a, g) in kfac.items()
        }
        was_training = model.training
        model.eval()
        draws = [self._noise(model) for _ in range(self.config.val_samples)]
        nll = []
        for tau in self.config.noise_scales:
            probs = torch.cat(
                [
                    torch.stack(
                        [self._sampled_proba(model, x, noise, tau**0.5) for noise in draws]
                    ).mean(0)
                    for x in ctx.x_val.split(ctx.batch_size)
                ]
            )
            nll.append(F.nll_loss(probs.clamp_min(1e-12).log(), ctx.y_val))
        model.train(was_training)
        self.grid_nll = torch.stack(nll).cpu()
        for factors in self.factors.values():
            factors["rows"] = factors["rows"] * self.noise_scale**0.5

    @property
    def noise_scale(self) -> float | None:
        if self.grid_nll is None:
            return None
        return self.config.noise_scales[int(self.grid_nll.argmin())]

    def run_metrics(self, model: nn.Module) -> dict[str, float]:
        if self.grid_nll is None:
            return {}
        return {
            "laplace_noise_scale": self.noise_scale,
            "laplace_val_nll": self.grid_nll.min().item(),
        }

    def state_dict(self) -> dict[str, Any]:
        if self.grid_nll is None:
            return {}
        return {"factors": self.factors, "grid_nll": self.grid_nll}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.factors = state.get("factors", {})
        self.grid_nll = state.get("grid_nll")
