"""TEncDM: the tan-d schedule, the encoder's latents (normalisation, special tokens, the cache),
self-conditioning, the EMA the sampler uses, the two decoders, resuming, and a short training
run; the shared machinery of `text_diffusion` is tested here too. A 16-dimensional random BERT
with MiniLM's vocabulary stands in for the encoder, except in one test of the real MiniLM."""

from __future__ import annotations

import io
import json
import math
import shutil
from pathlib import Path

import pytest
import torch

from methodlib.errors import RunError
from methodlib.methods.base import CLS, PAD, SEP, EpochContext, StepContext
from methodlib.methods.text.diffusion import alpha_sigma, beta
from methodlib.methods.text.tencdm import TEncDM, TEncDMConfig
from tests.methods.text.text_helpers import MINILM, TEXT_VOCAB, text_batch, text_info

TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
    "special_tokens_map.json",
)


def bert_folder(folder: Path, swap_tokens: bool = False) -> str:
    """A tiny random BERT with MiniLM's tokenizer (two token ids swapped with `swap_tokens`)."""
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(folder)
    for name in TOKENIZER_FILES:
        shutil.copy(Path(MINILM) / name, folder / name)
    if swap_tokens:
        tokenizer = json.loads((folder / "tokenizer.json").read_text())
        vocab = tokenizer["model"]["vocab"]
        vocab["the"], vocab["of"] = vocab["of"], vocab["the"]
        (folder / "tokenizer.json").write_text(json.dumps(tokenizer))
    return str(folder)


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory) -> str:
    return bert_folder(tmp_path_factory.mktemp("tiny_bert"))


def tencdm(encoder: str, max_len: int = 8, **fields) -> TEncDM:
    config = TEncDMConfig(encoder=encoder, **{"sampling_steps": 4, **fields})
    return TEncDM(config, "transformer_tiny", text_info(max_len))


def started(encoder: str, **fields) -> tuple[TEncDM, torch.nn.Module, torch.Tensor]:
    torch.manual_seed(0)
    method = tencdm(encoder, **fields)
    model = method.build_model()
    x, _ = text_batch(method.info, 32)
    method.on_train_start(model, x)
    return method, model, x


def test_tan_d_schedule_formula_and_endpoints():
    t = torch.linspace(0.05, 0.95, 19, dtype=torch.float64)
    alpha, sigma = alpha_sigma(t, 9.0)
    torch.testing.assert_close(alpha, 1 / torch.sqrt(1 + 81 * torch.tan(math.pi * t / 2) ** 2))
    torch.testing.assert_close(alpha.square() + sigma.square(), torch.ones_like(t))
    assert (alpha.diff() < 0).all()
    ends = torch.tensor([0.0, 1.0])
    a, s = alpha_sigma(ends, 9.0)
    torch.testing.assert_close(a, torch.tensor([1.0, 0.0]))
    torch.testing.assert_close(s, torch.tensor([0.0, 1.0]))
    cosine, _ = alpha_sigma(t, 1.0)
    torch.testing.assert_close(cosine, torch.cos(math.pi * t / 2))


def test_beta_is_the_log_snr_rate_and_is_capped():
    """β_t = −d log α_t²/dt (finite differences), evaluated at min(t, 0.95)."""
    t = torch.tensor([0.1, 0.4, 0.8], dtype=torch.float64)
    h = 1e-6
    log_a2 = [2 * alpha_sigma(t + e, 9.0)[0].log() for e in (h, -h)]
    torch.testing.assert_close(beta(t, 9.0), -(log_a2[0] - log_a2[1]) / (2 * h), rtol=1e-5, atol=0)
    torch.testing.assert_close(beta(torch.tensor([1.0]), 9.0), beta(torch.tensor([0.95]), 9.0))
    assert torch.isfinite(beta(torch.tensor([1.0]), 9.0)).all()


def test_cosine_schedule_is_d_one():
    assert tencdm("unused", schedule="cosine", d=5.0).d == 1.0
    assert tencdm("unused", d=5.0).d == 5.0


def test_latents_are_normalised_with_fixed_special_tokens(tiny_encoder):
    method, model, x = started(tiny_encoder)
    z = method.clean_latents(model, x)
    assert z.shape == (32, 8, 16)
    assert (z[x == PAD] == 0).all()
    for token in (CLS, SEP):
        rows = z[x == token]
        torch.testing.assert_close(rows, rows[:1].expand_as(rows))  # one fixed vector
        torch.testing.assert_close(rows[0].norm(), torch.tensor(4.0))  # √16
    words = z[x > 3]
    torch.testing.assert_close(words.mean(0), torch.zeros(16), atol=1e-4, rtol=0)
    torch.testing.assert_close(words.std(0, unbiased=False), torch.ones(16), atol=1e-4, rtol=0)


def test_a_rows_encoding_does_not_depend_on_its_batch(tiny_encoder):
    method, _, x = started(tiny_encoder)
    other = tencdm(tiny_encoder)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(1))
    shuffled = other.encode(x[order][:5])  # another chunk composition, a partial chunk
    torch.testing.assert_close(shuffled, method.encode(x)[order][:5], rtol=0, atol=0)


def test_an_encoder_with_another_vocabulary_is_refused(tmp_path):
    folder = bert_folder(tmp_path / "other", swap_tokens=True)
    method = tencdm(folder)
    with pytest.raises(RunError, match="another vocabulary.*id 1996"):
        method.build_model()


def test_self_conditioning_uses_a_first_pass_in_about_half_the_batches(tiny_encoder):
    method, model, x = started(tiny_encoder)
    estimates = []
    forward = model.denoiser.forward

    def spy(z_t, t, estimate=None):
        estimates.append(estimate)
        return forward(z_t, t, estimate)

    model.denoiser.forward = spy
    for _ in range(40):
        method.losses(model, x, None)
    passes = [e is not None for e in estimates]
    first_passes = len(passes) - 40  # every batch makes one denoising pass with gradient
    assert 10 <= first_passes <= 30 and sum(passes) == first_passes


def test_without_self_conditioning_the_denoiser_reads_no_estimate(tiny_encoder):
    method, model, x = started(tiny_encoder, self_conditioning=False)
    assert model.denoiser.self_cond is None
    z = torch.randn(2, 8, 16)
    t = torch.tensor([0.5, 0.5])
    model.eval()
    torch.testing.assert_close(model.denoiser(z, t, None), model.denoiser(z, t, torch.ones_like(z)))


def test_sampler_feeds_each_step_the_previous_estimate(tiny_encoder):
    method, model, _ = started(tiny_encoder)
    calls = []
    forward = model.denoiser.forward

    def spy(z_t, t, estimate=None):
        out = forward(z_t, t, estimate)
        calls.append((estimate, out))
        return out

    model.denoiser.forward = spy
    method.sample_latents(model.eval(), 3, "cpu", steps=4)
    assert len(calls) == 4 and calls[0][0] is None
    for (_, previous), (estimate, _) in zip(calls, calls[1:], strict=False):
        assert estimate is previous


def test_samples_have_rows_of_ids_starting_with_cls(tiny_encoder):
    method, model, _ = started(tiny_encoder, steps_curve=[1, 2])
    model.eval()
    ids = method.generate(model, 5, "cpu")
    assert ids.shape == (5, 8) and ids.dtype == torch.long
    assert (ids[:, 0] == CLS).all() and ids.min() >= 0 and ids.max() < len(TEXT_VOCAB)
    extra = method.extra_samples(model, 3, "cpu")
    assert sorted(extra) == ["steps_1", "steps_2"]
    assert all(v.shape == (3, 8) for v in extra.values())
    assert method.sample_latents(model, 2, "cpu", steps=2).shape == (2, 8, 16)
    assert method.main_set_keys() == ()


def test_the_curve_point_at_the_main_step_count_is_not_drawn_again(tiny_encoder):
    method, model, _ = started(tiny_encoder, sampling_steps=2, steps_curve=[1, 2])
    model.eval()
    assert sorted(method.extra_samples(model, 3, "cpu")) == ["steps_1"]
    assert method.main_set_keys() == ("steps_2",)


def train(method, model, x, steps: int, lr: float = 3e-3) -> list[float]:
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for step in range(steps):
        loss = method.loss(model, x, None, StepContext(0, step, steps, 1, len(x)))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def test_ema_follows_every_optimizer_step_and_drives_sampling(tiny_encoder):
    method, model, x = started(tiny_encoder, ema_decay=0.5)
    snapshots = []
    original = method.ema.update

    def spy(module):
        original(module)
        snapshots.append({k: v.clone() for k, v in method.ema.weights.items()})

    method.ema.update = spy
    train(method, model, x, 3)
    method.on_epoch_end(model, EpochContext(0, 1, x, x[:, 0], x, x[:, 0], 16))
    # the initial weights, then one update per optimizer step (warm-up: decay 1/10, 2/11, 3/12)
    assert len(snapshots) == 4 and method.ema.updates == 3
    name = "out.weight"
    weight = model.denoiser.out.weight.detach()
    expected = 0.25 * snapshots[2][name] + 0.75 * weight  # min(0.5, 3/12) = 0.25
    torch.testing.assert_close(snapshots[3][name], expected)

    model.eval()
    method.ema.weights = {k: torch.zeros_like(v) for k, v in method.ema.weights.items()}
    torch.manual_seed(0)
    with_zero_ema = method.sample_latents(model, 2, "cpu", steps=3)
    method.ema.weights = {k: v.detach().clone() for k, v in model.denoiser.named_parameters()}
    torch.manual_seed(0)
    with_model_weights = method.sample_latents(model, 2, "cpu", steps=3)
    method.ema.weights = None
    torch.manual_seed(0)
    raw = method.sample_latents(model, 2, "cpu", steps=3)
    torch.testing.assert_close(with_model_weights, raw)
    assert not torch.allclose(with_zero_ema, raw)


@pytest.mark.parametrize("decoder", ["transformer", "linear"])
def test_decoder_variants(tiny_encoder, decoder):
    method, model, x = started(tiny_encoder, decoder=decoder)
    model.eval()
    z = method.clean_latents(model, x[:4])
    logits = method.decoder_logits(model, z)
    assert logits.shape == (4, 8, len(TEXT_VOCAB))
    positions = torch.tensor([[0, 5], [1, 2], [7, 7], [3, 0]])
    subset = method.decoder_logits(model, z, positions)
    torch.testing.assert_close(subset, logits.gather(1, positions[..., None].expand(-1, -1, 44)))
    changed = z.clone()
    changed[:, 7] += 1.0
    other_positions = method.decoder_logits(model, changed)[:, :7]
    contextual = not torch.allclose(other_positions, logits[:, :7])
    assert contextual == (decoder == "transformer")
    assert hasattr(model.decoder, "blocks") == (decoder == "transformer")


def test_state_round_trip_restores_statistics_ema_and_samples(tiny_encoder):
    method, model, x = started(tiny_encoder)
    train(method, model, x, 2)
    method.on_epoch_end(model, EpochContext(0, 1, x, x[:, 0], x, x[:, 0], 16))
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "method": method.state_dict()}, buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    fresh = tencdm(tiny_encoder)
    fresh_model = fresh.build_model()
    fresh_model.load_state_dict(state["model"])
    fresh.load_state_dict(state["method"])  # no on_train_start: a resumed run
    torch.testing.assert_close(fresh.mean, method.mean)
    assert fresh.final_metrics == method.final_metrics and fresh.ema.updates == 2
    torch.testing.assert_close(fresh.clean_latents(fresh_model, x), method.clean_latents(model, x))
    model.eval()
    fresh_model.eval()
    torch.manual_seed(3)
    expected = method.generate(model, 4, "cpu")
    torch.manual_seed(3)
    torch.testing.assert_close(fresh.generate(fresh_model, 4, "cpu"), expected)


def test_short_training_lowers_the_validation_loss_and_reports_metrics(tiny_encoder):
    method, model, x = started(tiny_encoder)
    before = method.validation_metrics(model.eval(), x, x[:, 0], 16)["val_loss"]
    model.train()
    losses = train(method, model, x, 60)
    method.on_epoch_end(model, EpochContext(0, 1, x, x[:, 0], x, x[:, 0], 16))
    columns = method.validation_metrics(model.eval(), x, x[:, 0], 16)
    after = columns["val_loss"]
    assert after < 0.7 * before and sum(losses[-10:]) < sum(losses[:10])
    assert after == pytest.approx(columns["val_mse"] + columns["val_decoder_ce"])
    method.generate(model, 4, "cpu")
    metrics = method.run_metrics(model)
    accuracies = [k for k in metrics if k.startswith("decoder_acc_")]
    assert accuracies == ["decoder_acc_clean"] + [
        f"decoder_acc_t_{t:03d}" for t in (5, 10, 15, 20, 30)
    ]
    assert all(0 <= metrics[k] <= 1 for k in accuracies)
    assert metrics["decoder_acc_clean"] > metrics["decoder_acc_t_030"]
    assert [k for k in metrics if k.startswith("x0_norm_step_")] == [
        f"x0_norm_step_{k:03d}" for k in (1, 2, 3, 4)
    ]


def test_the_real_minilm_encoder_from_the_package():
    """The default encoder: the dataset's tokenizer folder (MiniLM-L6, 384-dimensional)."""
    torch.manual_seed(0)
    method = TEncDM(TEncDMConfig(), "transformer_tiny", text_info(8))
    model = method.build_model()
    assert method.latent_dim == 384 and method.encoder_folder == MINILM
    x, _ = text_batch(method.info, 8)
    method.on_train_start(model, x)
    z = method.clean_latents(model, x)
    assert z.shape == (8, 8, 384) and torch.isfinite(z).all()
    assert torch.isfinite(method.losses(model, x, None)).all()


def gaussian_denoiser(method, mean: float, std: float):
    """The exact E[z_0 | z_t] of data z_0 ~ N(mean, std²) in every coordinate."""

    def denoise(model, z, t, estimate):
        alpha, sigma = (v[:, None, None] for v in alpha_sigma(t, method.d))
        gain = alpha * std**2 / (alpha.square() * std**2 + sigma.square())
        return mean + gain * (z - alpha * mean)

    return denoise


@pytest.mark.parametrize("sampler", ["sde", "ode", "ddpm"])
def test_samplers_with_the_exact_denoiser_reach_the_data_distribution(tiny_encoder, sampler):
    method, model, _ = started(tiny_encoder, sampler=sampler, self_conditioning=False)
    method._denoise = gaussian_denoiser(method, mean=2.0, std=0.5)
    torch.manual_seed(0)
    z = method.sample_latents(model.eval(), 2000, "cpu", steps=200)
    assert abs(z.mean().item() - 2.0) < 0.05
    assert abs(z.std().item() - 0.5) < 0.06


def test_euler_maruyama_collapses_towards_the_mean_in_few_steps(tiny_encoder):
    """Why the step curves fall steeply below 25 steps: with the tan-d schedule's large β_t,
    Euler–Maruyama under-disperses even with the exact denoiser (the data's std is 0.5)."""
    method, model, _ = started(tiny_encoder, self_conditioning=False)
    method._denoise = gaussian_denoiser(method, mean=2.0, std=0.5)
    torch.manual_seed(0)
    stds = [
        method.sample_latents(model.eval(), 2000, "cpu", steps=k).std().item() for k in (10, 50)
    ]
    assert stds[0] < 0.1 < stds[1] < 0.45
