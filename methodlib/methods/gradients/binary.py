"""Gradient estimators for stochastic binary networks (SBNs), and their exact gradient by
enumeration on small networks.

Model (Shekhovtsov et al. 2020, "Path sample-analytic gradient estimators for stochastic binary
networks"; Shekhovtsov & Yanush 2021, "Reintroducing straight-through estimators as principled
methods for stochastic binary networks", arXiv 2006.06880): layer k maps its input x^{k−1}
(real for k = 1, in {−1, 1}^n after) to a = W x^{k−1} + b and x^k = sign(a − Z) with logistic
noise Z, so P(x^k_j = 1) = F(a_j) = σ(a_j); a linear output layer gives logits and the loss
(logistic for one logit, softmax cross-entropy for several). The expected loss E_Z[L] is smooth
in the weights; its gradient is what the estimators approximate, each by one noise sample per
row through a surrogate whose autograd gradient is the estimate (`surrogate_loss`):

- "st": the principled straight-through estimator — sample forward, and on the backward pass
  dx/da := d E[x | a]/da = 2 F'(a) (with logistic noise the derivative of tanh(a/2)). The ST
  paper derives it from PSA by linearising both of PSA's finite differences; it is exact for a
  single layer under a loss linear in x, and biased otherwise.
- "st_identity", "st_tanh", "st_hardtanh": the ad-hoc proxies dx/da := 1, 1 − tanh²(a),
  1[|a| ≤ 1] with the same stochastic forward (their scale and width do not match the noise,
  which is the ST paper's explanation of why they estimate the gradient worse).
- "reinforce": the score function (L − b) ∇ log p(x) with a baseline b independent of the
  sample: the leave-one-out mean loss of the same data point over the other samples when
  S ≥ 2, else the loss of the mean-field network (x := E[x | a] deterministically). Unbiased.
- "concrete": the Gumbel-softmax / Concrete relaxation x = 2σ((a − Z)/τ) − 1 in the forward
  pass (the relaxed loss's gradient; biased, τ → 0 is the sign but with exploding variance).
- "psa": path sample-analytic. Per layer the derivative of each sampled unit's flip
  probability is carried forward (q, value zero, gradient only): q_j = −y_j [F(a_j) + Σ_i q_i
  (F(a_j^{⊕i}) − F(a_j))], a^{⊕i} the pre-activation with input unit i flipped, so a flip of
  unit i in the layer below acts on layer k's probabilities analytically but one unit at a
  time (paths), and the loss sees q through f(x^{⊕i}) − f(x) at the last binary layer (plus
  the reference's zero-mean control (1 − p_i)/n on the same differences). Unbiased for the
  last binary layer and the output layer (and so for a network with one binary layer), biased
  (the path linearisation) for the layers below.

`expected_loss` enumerates the binary states: the layers form a Markov chain, so the marginal
of the last binary layer is a product of 2^n × 2^n transition matrices (cost 2^{2n} per layer,
n ≤ ~10) and E[L] = Σ_s p(s) L(s) exactly; its autograd gradient is the truth the estimators
are measured against (PSA paper's 2-5-5-5 setting: 2-D inputs, three binary layers of 5, one
logit with the logistic loss, trained on `psa_toy_data`). Only logistic noise (F = σ) and
real-valued weights are covered here; stochastic binary weights and their mirror-descent
straight-through update are `binary_weights.py`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from torch.nn import functional as F

ESTIMATORS = (
    "st",
    "st_identity",
    "st_tanh",
    "st_hardtanh",
    "reinforce",
    "concrete",
    "psa",
)

# The straight-through proxies g: forward keeps the sample, backward uses g'(a).
PROXIES: dict[str, Callable[[Tensor], Tensor]] = {
    "st": lambda a: torch.tanh(a / 2),  # E[x | a] = 2σ(a) − 1: g' = 2F'(a)
    "st_identity": lambda a: a,
    "st_tanh": torch.tanh,
    "st_hardtanh": F.hardtanh,
}


@dataclass
class BinaryNetwork:
    """Weights of an SBN: `weights[k]`, `biases[k]` of the binary layers, the last pair the
    linear output layer."""

    weights: list[Tensor]
    biases: list[Tensor]

    @classmethod
    def init(
        cls,
        widths: tuple[int, ...],
        outputs: int = 1,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float64,
    ) -> BinaryNetwork:
        """`widths` = (input dim, binary widths...); weights uniform in [−1, 1] as in the PSA
        paper's gradient-accuracy experiment."""
        sizes = (*widths, outputs)
        weights, biases = [], []
        for n_in, n_out in itertools.pairwise(sizes):
            w = torch.rand(n_out, n_in, generator=generator, dtype=dtype) * 2 - 1
            b = torch.rand(n_out, generator=generator, dtype=dtype) * 2 - 1
            weights.append(w.requires_grad_())
            biases.append(b.requires_grad_())
        return cls(weights, biases)

    def parameters(self) -> list[Tensor]:
        return [p for pair in zip(self.weights, self.biases, strict=True) for p in pair]


def psa_toy_data(n: int, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """The PSA paper's 2-D two-class problem: n points of class 1 uniform on
    [−π/2, π/2] × [0, 1], n of class 0 uniform under cos x on [−π/2, π/2] × [−1, 1] (rejection)."""
    dtype = torch.float64
    top = torch.rand(n, 2, generator=generator, dtype=dtype)
    top[:, 0] = (top[:, 0] - 0.5) * math.pi
    under = torch.empty(0, 2, dtype=dtype)
    while len(under) < n:
        u = torch.rand(4 * n, 2, generator=generator, dtype=dtype)
        cand = torch.stack([(u[:, 0] - 0.5) * math.pi, u[:, 1] * 2 - 1], dim=1)
        under = torch.cat([under, cand[cand[:, 1] < cand[:, 0].cos()]])
    x = torch.cat([top, under[:n]])
    y = torch.cat([torch.ones(n, dtype=dtype), torch.zeros(n, dtype=dtype)])
    return x, y


def output_loss(logits: Tensor, y: Tensor) -> Tensor:
    """Per-row loss of logits [..., K] against labels y [...]: logistic for K = 1 (y ∈ {0, 1}),
    softmax cross-entropy otherwise (integer y)."""
    if logits.shape[-1] == 1:
        return F.binary_cross_entropy_with_logits(
            logits[..., 0], y.to(logits.dtype), reduction="none"
        )
    flat = F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), y.reshape(-1).long(), reduction="none"
    )
    return flat.reshape(y.shape)


def logistic_noise(like: Tensor, generator: torch.Generator | None = None) -> Tensor:
    u = torch.rand(like.shape, generator=generator, dtype=like.dtype, device=like.device)
    return torch.log(u) - torch.log1p(-u)


def sample_sign(a: Tensor, noise: Tensor) -> Tensor:
    """x = sign(a − Z) ∈ {−1, 1} (without gradient)."""
    return torch.where(a.detach() >= noise, 1.0, -1.0).to(a.dtype)


def straight_through(a: Tensor, noise: Tensor, proxy: str = "st") -> Tensor:
    """Sample sign(a − Z) in the forward pass, backpropagate the proxy's derivative g'(a)."""
    g = PROXIES[proxy](a)
    return sample_sign(a, noise) + (g - g.detach())


def concrete(a: Tensor, noise: Tensor, tau: float) -> Tensor:
    """The Concrete relaxation of sign(a − Z): 2σ((a − Z)/τ) − 1."""
    return 2 * torch.sigmoid((a - noise) / tau) - 1


def _log_prob_sign(x: Tensor, a: Tensor) -> Tensor:
    """log P(x | a) summed over units, x ∈ {−1, 1}: log σ(x a)."""
    return F.logsigmoid(x * a).sum(-1)


def _states(n: int, dtype: torch.dtype) -> Tensor:
    """All 2^n states of n binary units, [2^n, n] in {−1, 1}."""
    bits = torch.arange(2**n).unsqueeze(1) >> torch.arange(n)
    return (2 * (bits & 1) - 1).to(dtype)


def _transition(a: Tensor, states: Tensor) -> Tensor:
    """P(state | a) for pre-activations a [..., n] and states [S, n]: [..., S]."""
    return F.logsigmoid(a.unsqueeze(-2) * states).sum(-1).exp()


def expected_loss(net: BinaryNetwork, x: Tensor, y: Tensor) -> Tensor:
    """E_Z[mean over rows of the loss], exactly, by summing over all binary states."""
    *hidden, (w_out, b_out) = list(zip(net.weights, net.biases, strict=True))
    states = _states(hidden[0][0].shape[0], x.dtype)
    marginal = _transition(x @ hidden[0][0].T + hidden[0][1], states)  # [B, 2^n1]
    for w, b in hidden[1:]:
        nxt = _states(w.shape[0], x.dtype)
        marginal = marginal @ _transition(states @ w.T + b, nxt)
        states = nxt
    logits = states @ w_out.T + b_out  # [2^n, K]
    losses = output_loss(
        logits.unsqueeze(0).expand(len(x), -1, -1), y.unsqueeze(1).expand(-1, len(states))
    )
    return (marginal * losses).sum(1).mean()


def exact_gradient(net: BinaryNetwork, x: Tensor, y: Tensor) -> list[Tensor]:
    return list(torch.autograd.grad(expected_loss(net, x, y), net.parameters()))


def _psa_surrogate(net: BinaryNetwork, x: Tensor, y: Tensor, generator) -> Tensor:
    *hidden, (w_out, b_out) = list(zip(net.weights, net.biases, strict=True))
    state, q = x, None
    for w, b in hidden:
        a = state @ w.T + b
        out = sample_sign(a, logistic_noise(a, generator))
        flip = torch.sigmoid(a)
        if q is not None:
            # a with input unit i flipped: a − 2 w_{:, i} x_i, [R, n_in, n_out]
            a_flip = a.unsqueeze(1) - 2 * state.unsqueeze(2) * w.T
            flip = flip + (
                (torch.sigmoid(a_flip) - torch.sigmoid(a).unsqueeze(1)) * q.unsqueeze(2)
            ).sum(1)
        p_sampled = torch.sigmoid(out * a).detach()
        q = -out * flip
        q = q - q.detach()
        state = out
    n = state.shape[1]
    flipped = state.unsqueeze(1) * (1 - 2 * torch.eye(n, dtype=state.dtype))  # [R, n, n]
    base = output_loss(state @ w_out.T + b_out, y)
    f_flip = output_loss(flipped @ w_out.T + b_out, y.unsqueeze(1).expand(-1, n))
    weight = q + (1 - p_sampled) / n
    return base + ((f_flip - base.unsqueeze(1)) * weight).sum(1)


def _forward(net: BinaryNetwork, x: Tensor, layer: Callable[[Tensor], Tensor]) -> Tensor:
    """Logits of the network with `layer(a)` as every binary layer's activation."""
    *hidden, (w_out, b_out) = list(zip(net.weights, net.biases, strict=True))
    state = x
    for w, b in hidden:
        state = layer(state @ w.T + b)
    return state @ w_out.T + b_out


def surrogate_loss(
    net: BinaryNetwork,
    x: Tensor,
    y: Tensor,
    estimator: str,
    samples: int = 1,
    generator: torch.Generator | None = None,
    tau: float = 1.0,
) -> Tensor:
    """A scalar whose gradient in `net.parameters()` is the estimator's gradient estimate of
    the expected mean loss, averaged over `samples` independent noise draws per data row."""
    x_rep, y_rep = x.repeat(samples, 1), y.repeat(samples)
    if estimator in PROXIES:
        rows = output_loss(
            _forward(
                net, x_rep, lambda a: straight_through(a, logistic_noise(a, generator), estimator)
            ),
            y_rep,
        )
    elif estimator == "concrete":
        rows = output_loss(
            _forward(net, x_rep, lambda a: concrete(a, logistic_noise(a, generator), tau)), y_rep
        )
    elif estimator == "psa":
        rows = _psa_surrogate(net, x_rep, y_rep, generator)
    elif estimator == "reinforce":
        log_p = torch.zeros(len(x_rep), dtype=x.dtype)

        def layer(a: Tensor) -> Tensor:
            nonlocal log_p
            out = sample_sign(a, logistic_noise(a, generator))
            log_p = log_p + _log_prob_sign(out, a)
            return out

        loss = output_loss(_forward(net, x_rep, layer), y_rep)
        per_sample = loss.detach().reshape(samples, len(x))
        if samples > 1:
            baseline = (per_sample.sum(0, keepdim=True) - per_sample) / (samples - 1)
        else:
            with torch.no_grad():
                baseline = output_loss(_forward(net, x, lambda a: torch.tanh(a / 2)), y)[None]
        rows = loss + (per_sample - baseline).reshape(-1) * log_p
    else:
        raise ValueError(f"unknown estimator {estimator!r}; choose one of {ESTIMATORS}")
    return rows.mean()


def estimate_gradient(
    net: BinaryNetwork, x: Tensor, y: Tensor, estimator: str, **options: Any
) -> list[Tensor]:
    """The estimator's gradient of E[mean loss]; `options` (samples, generator, tau) as for
    `surrogate_loss`."""
    loss = surrogate_loss(net, x, y, estimator, **options)
    return list(torch.autograd.grad(loss, net.parameters()))


def flat(grads: list[Tensor]) -> Tensor:
    return torch.cat([g.reshape(-1) for g in grads])
