"""The Monte Carlo gradient estimator task's hooks (declaration and the metrics' definitions:
`tasks/estimator.py`): the training ELBO per epoch, the seeded cost-function study and the
logistic regression's outputs, and the variance and bias metrics of the saved estimates."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from methodlib.routines.base import Routine, run_result
from methodlib.tasks.estimator import N_COST, PARAMS

if TYPE_CHECKING:
    import numpy as np
    from torch import nn

    from methodlib.data import Prepared
    from methodlib.methods.mc_gradients.bayes_logreg import MCGradientVI

GRID_MU, GRID_SIGMA = 1.0, 1.0
"""The survey's Figs. 2–3 measure N(1, 1)."""
N_GRID = (1, 4, 16, 64)
N_K = 3
"""The k of `N_COST` whose estimates are measured against the samples per estimate."""
SIGMA_GRID = (25, 50, 100, 200, 400)
"""The σ sweep in hundredths: σ = 0.25 … 4 around the survey's σ = 1."""
SIGMA_K = {"square": 3, "cos": 2, "exp": 1}
"""The k of each cost in the σ sweep (square: |μ − k| = 2)."""


class EstimatorRoutine(Routine):
    task = "estimator"

    def validation_columns(
        self, method: MCGradientVI, model: nn.Module, data: Prepared, batch_size: int, device
    ) -> dict[str, float]:
        return {"elbo": method.elbo(model, data.train.x.to(device), data.train.y.to(device))}

    def test_outputs(
        self, method: MCGradientVI, model: nn.Module, data: Prepared, batch_size: int, device
    ) -> dict[str, np.ndarray]:
        import numpy as np
        import torch

        x_train, y_train = data.train.x.to(device), data.train.y.to(device)
        blr = {
            "final_elbo": method.elbo(model, x_train, y_train),
            **method.gradient_variance(model, x_train, y_train),
        }
        probs = torch.cat(
            [
                method.predict_proba(model, data.test.x[i : i + batch_size].to(device)).cpu()
                for i in range(0, len(data.test.x), batch_size)
            ],
            dim=1,
        )
        return {
            **cost_study(method.config),
            "grid_samples": np.array(method.config.grid_samples),
            "probs": probs.numpy(),
            "labels": data.test.y.numpy(),
            "blr_names": np.array(list(blr)),
            "blr_values": np.array(list(blr.values()), dtype=np.float64),
        }

    def evaluate(
        self, run_dir: Path, record: dict[str, Any], judge: str | Path | None, data: Any
    ) -> dict[str, Any]:
        from methodlib.io import read_npz

        with read_npz(run_dir / "predictions.npz") as outputs:
            saved = {key: outputs[key] for key in outputs.files}
        metrics = {
            **estimator_metrics(saved, int(saved["grid_samples"])),
            **dict(zip(saved["blr_names"].tolist(), saved["blr_values"].tolist(), strict=True)),
            "test_accuracy": float((saved["probs"].mean(0).argmax(-1) == saved["labels"]).mean()),
            **record["model_stats"],
            "train_seconds": record["train_seconds"],
        }
        return run_result(record, metrics, samples=len(saved["probs"]))


def cost_study(config: Any) -> dict[str, np.ndarray]:
    """`grid`, `by_n`, `exact`, `by_sigma` and `exact_sigma` of `tasks/estimator.py`'s docstring for the
    estimator of `config`, drawn from the generator the training seed left (the run is
    seeded)."""
    import numpy as np
    import torch

    from methodlib.methods.mc_gradients.costs import COSTS, K_GRID, cost, exact_gradient
    from methodlib.methods.mc_gradients.estimators import gradient_terms

    mu = torch.tensor([GRID_MU], dtype=torch.float64)
    sigma = torch.tensor([GRID_SIGMA], dtype=torch.float64)
    replicates = config.grid_replicates

    def estimates(name: str, k: float, n: int, scale: torch.Tensor = sigma) -> np.ndarray:
        terms = gradient_terms(config.estimator, cost(name, k), mu, scale, (replicates, n))
        return torch.stack([t[..., 0].mean(-1) for t in terms]).numpy()  # (2, replicates)

    grid = np.stack(
        [np.stack([estimates(c, k, config.grid_samples) for k in K_GRID[c]]) for c in COSTS]
    )
    by_n = np.stack([estimates(N_COST, N_K, n) for n in N_GRID])
    exact = np.array(
        [[exact_gradient(c, k, GRID_MU, GRID_SIGMA) for k in K_GRID[c]] for c in COSTS]
    )
    sigmas = [torch.tensor([s / 100], dtype=torch.float64) for s in SIGMA_GRID]
    by_sigma = np.stack(
        [
            np.stack([estimates(c, SIGMA_K[c], config.grid_samples, s) for s in sigmas])
            for c in COSTS
        ]
    )
    exact_sigma = np.array(
        [[exact_gradient(c, SIGMA_K[c], GRID_MU, s / 100) for s in SIGMA_GRID] for c in COSTS]
    )
    return {
        "grid": grid,
        "by_n": by_n,
        "exact": exact,
        "by_sigma": by_sigma,
        "exact_sigma": exact_sigma,
    }


def estimator_metrics(saved: dict[str, np.ndarray], samples: int) -> dict[str, float]:
    """The variance and bias metrics of `tasks/estimator.py`'s docstring from the saved estimates
    (`cost_study`'s arrays; runs saved before the σ sweep have no `by_sigma`)."""
    import numpy as np

    from methodlib.methods.mc_gradients.costs import COSTS, K_GRID

    grid, by_n, exact = saved["grid"], saved["by_n"], saved["exact"]
    metrics: dict[str, float] = {}
    for i, name in enumerate(COSTS):
        for j, k in enumerate(K_GRID[name]):
            for p, param in enumerate(PARAMS):
                metrics[f"var_{param}_{name}_k{k}"] = float(samples * grid[i, j, p].var(ddof=1))
    for i, n in enumerate(N_GRID):
        for p, param in enumerate(PARAMS):
            metrics[f"var_{param}_{N_COST}_n{n}"] = float(n * by_n[i, p].var(ddof=1))
    if "by_sigma" in saved:
        for i, name in enumerate(COSTS):
            for j, s in enumerate(SIGMA_GRID):
                for p, param in enumerate(PARAMS):
                    metrics[f"var_{param}_{name}_s{s}"] = float(
                        samples * saved["by_sigma"][i, j, p].var(ddof=1)
                    )
    replicates = grid.shape[-1]
    error = grid.std(axis=-1, ddof=1) / np.sqrt(replicates)
    z = (grid.mean(axis=-1) - exact) / np.maximum(error, 1e-300)
    metrics["bias_z_rms"] = float(np.sqrt(np.mean(z**2)))
    return metrics
