"""What the PAGAN, ALI and VAE tests share: building a method on the `dcgan` networks and
taking steps as the shared training loop takes them."""

from __future__ import annotations

import torch

from methodlib.loop import objective_optimizer
from methodlib.methods import DataInfo, StepContext

SHAPE = (1, 8, 8)


def build(cls, shape=SHAPE, **fields):
    method = cls(cls.Config(name=cls.name, **fields), "dcgan", DataInfo(shape, 10, 64))
    return method, method.build_model()


def blobs(n: int = 32, shape=SHAPE, seed: int = 0) -> torch.Tensor:
    """Images in [0, 1]: a bright square at a random place on a dark background."""
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, *shape)
    side = shape[1] // 2
    for i, (r, c) in enumerate(torch.randint(0, shape[1] - side + 1, (n, 2), generator=g)):
        x[i, :, r : r + side, c : c + side] = 1.0
    return x


def train(method, model, x: torch.Tensor, steps: int, lr: float = 2e-3) -> list[float]:
    """`steps` full-batch steps as the shared loop takes them: the method's objectives (the
    discriminators), each with its optimizer, then its loss; the losses."""
    extra = [(o, objective_optimizer(o)) for o in method.objectives(model)]
    optimizer = torch.optim.Adam([g["params"] for g in method.param_groups(model)][0], lr=lr)
    y, losses = torch.zeros(len(x)), []
    for step in range(steps):
        ctx = StepContext(0, step, steps, 1, len(x))
        for objective, objective_opt in extra:
            objective_loss = objective.loss(model, x, y, ctx)
            objective_opt.zero_grad(set_to_none=True)
            objective_loss.backward()
            objective_opt.step()
        loss = method.loss(model, x, y, ctx)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
