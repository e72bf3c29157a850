"""A TT-matrix linear layer (Novikov et al. 2015, "Tensorizing neural networks").

The weight W (M × N, M = m_1·…·m_d inputs, N = n_1·…·n_d outputs) is stored as d cores
G_k of shape (r_{k-1}, m_k, n_k, r_k), r_0 = r_d = 1:

    W[(i_1..i_d), (j_1..j_d)] = G_1[:, i_1, j_1, :] · G_2[:, i_2, j_2, :] · … · G_d[:, i_d, j_d, :]

with row-major multi-indices, so Σ_k r_{k-1} m_k n_k r_k parameters instead of M·N. The
forward pass contracts the input with one core at a time and never forms W.

Why written here: neither `tensorly` (0.10: a `TTMatrix` container and `tt_matrix_to_matrix`,
numpy-first, no module or initialisation) nor `tntorch` (1.1.2: a `TTMatrix` built by TT-SVD
and a `tt_multiply` function, no layer, no initialisation) ships a torch layer with T3F's
initialisation; tensorly-torch's factorized layers are a further package with their own
parametrisation. The layer is a few einsums; its dense reconstruction was checked against
tensorly's `tt_matrix_to_matrix` once (same core layout), and the tests check it against
`full()` exactly.

Initialisation as T3F's `glorot_initializer` (Novikov et al. 2020): every core entry is
N(0, σ_c²) with σ_c = σ^(1/d) · (r_0 r_1 … r_d)^(-1/(2d)), σ² = 2 / (M + N). An entry of W is a
sum of r_1·…·r_{d-1} products of d independent core entries, so Var W = σ²: the variance
Glorot gives a dense layer.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def factorise(n: int, d: int) -> list[int]:
    """`d` factors of `n`, as equal as the primes allow (784, 4 → [7, 7, 4, 4]): each prime,
    largest first, multiplies the smallest factor so far."""
    primes, p, rest = [], 2, n
    while p * p <= rest:
        while rest % p == 0:
            primes.append(p)
            rest //= p
        p += 1
    if rest > 1:
        primes.append(rest)
    factors = [1] * d
    for prime in sorted(primes, reverse=True):
        factors[factors.index(min(factors))] *= prime
    return sorted(factors, reverse=True)


def tt_params(in_modes: list[int], out_modes: list[int], ranks: list[int]) -> int:
    """Σ_k r_{k-1} m_k n_k r_k: the cores' entries (`ranks` = r_0..r_d, ends 1)."""
    return sum(
        ranks[k] * m * n * ranks[k + 1]
        for k, (m, n) in enumerate(zip(in_modes, out_modes, strict=True))
    )


class TTLinear(nn.Module):
    def __init__(
        self, in_modes: list[int], out_modes: list[int], ranks: list[int], bias: bool = True
    ):
        """`ranks` are r_1..r_{d-1} (the ends are 1)."""
        super().__init__()
        if not len(in_modes) == len(out_modes) == len(ranks) + 1:
            raise ValueError(
                f"a TT-matrix of order d needs d input modes, d output modes and d - 1 ranks; "
                f"got {in_modes}, {out_modes}, {ranks}"
            )
        self.in_modes, self.out_modes = list(in_modes), list(out_modes)
        self.ranks = [1, *ranks, 1]
        self.in_features, self.out_features = math.prod(in_modes), math.prod(out_modes)
        self.cores = nn.ParameterList(
            nn.Parameter(torch.empty(self.ranks[k], m, n, self.ranks[k + 1]))
            for k, (m, n) in enumerate(zip(in_modes, out_modes, strict=True))
        )
        self.bias = nn.Parameter(torch.zeros(self.out_features)) if bias else None
        self.reset_parameters()

    def core_std(self) -> float:
        """σ_c of T3F's Glorot initialiser (see the module docstring)."""
        d = len(self.cores)
        variance = 2.0 / (self.in_features + self.out_features)
        return variance ** (1 / (2 * d)) * math.prod(self.ranks) ** (-1 / (2 * d))

    def reset_parameters(self) -> None:
        std = self.core_std()
        for core in self.cores:
            nn.init.normal_(core, 0.0, std)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch = x.shape[0]
        # (batch, outputs done, rank, inputs left), contracted with one core at a time
        t = x.reshape(batch, 1, 1, self.in_features)
        for core, m in zip(self.cores, self.in_modes, strict=True):
            done, rank, left = t.shape[1], t.shape[2], t.shape[3]
            t = t.reshape(batch, done, rank, m, left // m)
            t = torch.einsum("bdrml,rmns->bdnsl", t, core)
            t = t.reshape(batch, done * core.shape[2], core.shape[3], left // m)
        out = t.reshape(batch, self.out_features)
        return out if self.bias is None else out + self.bias

    def full(self) -> torch.Tensor:
        """The dense M × N matrix W the cores represent (inputs along rows)."""
        w = self.cores[0].new_ones(1, 1, 1)  # (inputs done, outputs done, rank)
        for core in self.cores:
            w = torch.einsum("abr,rmns->ambns", w, core)
            w = w.reshape(w.shape[0] * w.shape[1], w.shape[2] * w.shape[3], w.shape[4])
        return w[..., 0]

    def macs(self, inp: torch.Tensor, out: torch.Tensor) -> int:
        """Multiply-accumulates of one forward pass per example: core k costs (outputs done)
        · r_{k-1} · m_k · n_k · r_k · (inputs left after k)."""
        total, done, left = 0, 1, self.in_features
        for k, (m, n) in enumerate(zip(self.in_modes, self.out_modes, strict=True)):
            left //= m
            total += done * self.ranks[k] * m * n * self.ranks[k + 1] * left
            done *= n
        return total

    def extra_repr(self) -> str:
        return f"in_modes={self.in_modes}, out_modes={self.out_modes}, ranks={self.ranks}"
