"""Embedding diffusion (Diffusion-LM): rounding to the nearest embedding, the rounding loss that
trains the embeddings, the machinery it shares with TEncDM, and a short training run."""

from __future__ import annotations

import torch

from methodlib.methods.base import CLS, EpochContext, StepContext
from methodlib.methods.text.diffusion import TextDiffusion
from methodlib.methods.text.embedding_diffusion import EmbeddingDiffusion, EmbeddingDiffusionConfig
from methodlib.models.transformer import Denoiser
from tests.methods.text.text_helpers import TEXT_VOCAB, text_batch, text_info


def method_and_model(**fields):
    torch.manual_seed(0)
    config = EmbeddingDiffusionConfig(embedding_dim=8, sampling_steps=4, **fields)
    method = EmbeddingDiffusion(config, "transformer_tiny", text_info(8))
    return method, method.build_model()


def test_shares_the_diffusion_machinery_in_an_embedding_space():
    method, model = method_and_model()
    assert isinstance(method, TextDiffusion) and isinstance(model.denoiser, Denoiser)
    assert model.embedding.weight.shape == (len(TEXT_VOCAB), 8)


def test_logits_are_negative_squared_distances_and_round_to_the_nearest_token():
    method, model = method_and_model()
    z = torch.randn(3, 8, 8)
    logits = method.decoder_logits(model, z)
    expected = -torch.cdist(z, model.embedding.weight.detach().expand(3, -1, -1)).square()
    torch.testing.assert_close(logits, expected, atol=1e-4, rtol=1e-4)
    x, _ = text_batch(method.info, 4)
    exact = method.decoder_logits(model, model.embedding(x))
    assert (exact.argmax(-1) == x).all()
    positions = torch.tensor([[2, 0], [7, 1], [3, 3]])
    subset = method.decoder_logits(model, z, positions)
    torch.testing.assert_close(subset, logits.gather(1, positions[..., None].expand(-1, -1, 44)))


def test_both_terms_of_the_objective_train_the_embeddings():
    """The x0 error alone would pull embeddings together; the rounding loss keeps them apart."""
    method, model = method_and_model(self_conditioning=False)
    x, _ = text_batch(method.info, 16)
    torch.manual_seed(1)
    method.losses(model, x, None).mean().backward()
    full = model.embedding.weight.grad.clone()
    assert full.abs().sum() > 0
    model.zero_grad()
    torch.manual_seed(1)
    z0 = method.clean_latents(model, x)
    positions = torch.arange(8).expand(16, 8)
    method.decoder_logits(model, z0, positions).mean().backward()
    assert model.embedding.weight.grad.abs().sum() > 0


def test_short_training_lowers_the_loss_and_samples_rows_of_tokens():
    method, model = method_and_model()
    x, _ = text_batch(method.info, 32)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    before = method.validation_metrics(model.eval(), x, x[:, 0], 16)["val_loss"]
    model.train()
    for step in range(60):
        loss = method.loss(model, x, None, StepContext(0, step, 60, 1, len(x)))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    method.on_epoch_end(model, EpochContext(0, 1, x, x[:, 0], x, x[:, 0], 16))
    after = method.validation_metrics(model.eval(), x, x[:, 0], 16)["val_loss"]
    assert after < 0.7 * before
    ids = method.generate(model, 5, "cpu")
    assert ids.shape == (5, 8) and (ids[:, 0] == CLS).all()
    metrics = method.run_metrics(model)
    assert metrics["decoder_acc_clean"] == 1.0  # rounding clean embeddings is exact
    assert "x0_norm_step_004" in metrics and method.ema.updates == 60
