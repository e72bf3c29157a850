"""ACT, SACT and PACT (`methodlib/models/adaptive_resnet.py`, `methodlib/methods/adaptive/`),
the cluttered digits they run on (`methodlib/data/clutter.py`) and the score of their ponder
maps (`methodlib/metrics/adaptive.py`), each against a direct computation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from methodlib.data.clutter import box_masks, clutter_images, digit_boxes, digit_corners
from methodlib.metrics.adaptive import mean_box_auroc, pixel_maps
from methodlib.models.adaptive_resnet import ACTRule, AdaptiveResNet, HaltingUnit, PACTRule


def digits(n: int, seed: int = 0) -> np.ndarray:
    """n fake 28 × 28 digits: random strokes inside the central 20 × 20, as MNIST's."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 1, 28, 28), dtype=np.uint8)
    x[:, :, 4:24, 4:24] = rng.integers(0, 256, size=(n, 1, 20, 20)) * (
        rng.random((n, 1, 20, 20)) < 0.3
    )
    return x


def test_clutter_is_deterministic_under_a_seed_and_changes_with_it():
    x = digits(20)
    a = clutter_images(x, 40, 4, 8, seed=3, split="test")
    b = clutter_images(x, 40, 4, 8, seed=3, split="test")
    c = clutter_images(x, 40, 4, 8, seed=4, split="test")
    assert a.shape == (20, 1, 40, 40) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()


def test_digit_pixels_lie_inside_their_replayed_box():
    x = digits(30)
    clean = clutter_images(x, 40, 0, 8, seed=1, split="test")  # no clutter: the digit alone
    cluttered = clutter_images(x, 40, 5, 8, seed=1, split="test")
    boxes = digit_boxes({"canvas": 40}, 30, seed=1)
    inside = box_masks(boxes, 40)
    assert (clean[:, 0][~inside] == 0).all()  # every digit pixel is in its box
    assert (boxes[:, 2:] - boxes[:, :2] == 20).all()
    for i, (r, c) in enumerate(digit_corners(30, 40, 1, "test")):
        np.testing.assert_array_equal(clean[i, 0, r : r + 28, c : c + 28], x[i, 0])
        assert (cluttered[i, 0, r : r + 28, c : c + 28] >= x[i, 0]).all()  # clutter only adds
    assert (cluttered[:, 0][~inside] > 0).any()  # and lies outside the box too


def scores(shape, seed=0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=g) * 2 - 0.5 for _ in range(4)]


def run_rule(rule, logits: list[torch.Tensor]):
    """The weights, ρ and halting units of a group of len(logits) + 1 units."""
    rule.start(torch.zeros_like(logits[0]))
    active = torch.ones_like(logits[0], dtype=torch.bool)
    weights, ponder, steps = [], torch.zeros_like(logits[0]), torch.zeros_like(logits[0])
    for n, logit in enumerate([*logits, None]):
        p, halting, cost = rule.step(logit, active, n)
        weights.append(p)
        ponder, steps = ponder + cost, steps + active.float()
        active = active & ~halting
    assert not active.any()
    return torch.stack(weights), ponder, steps


@pytest.mark.parametrize("shape", [(64, 1, 1, 1), (8, 1, 5, 5)], ids=["image", "position"])
def test_act_weights_sum_to_one_and_ponder_cost_is_n_plus_remainder(shape):
    logits = scores(shape)
    weights, ponder, steps = run_rule(ACTRule(eps=0.01), logits)
    torch.testing.assert_close(weights.sum(0), torch.ones(shape))
    h = torch.sigmoid(torch.stack(logits))
    for idx in np.ndindex(*shape):  # N and R counted directly
        total, n = 0.0, 0
        while n < len(logits) and total + h[(n, *idx)] < 0.99:
            total, n = total + h[(n, *idx)].item(), n + 1
        assert steps[idx] == n + 1
        torch.testing.assert_close(ponder[idx], torch.tensor(n + 1 + (1 - total)))
        torch.testing.assert_close(weights[(n, *idx)], torch.tensor(1 - total))


@pytest.mark.parametrize("training", [True, False])
def test_pact_weights_sum_to_one_and_evaluation_halts_at_the_first_score_over_half(training):
    shape = (64, 1, 1, 1)
    logits = scores(shape, seed=2)
    torch.manual_seed(0)
    weights, ponder, steps = run_rule(PACTRule(0.5, training), logits)
    torch.testing.assert_close(weights.sum(0), torch.ones(shape))
    units = torch.arange(1, len(logits) + 2, dtype=torch.float32)[:, None, None, None, None]
    torch.testing.assert_close(ponder, (units * weights).sum(0))
    if training:
        assert (weights.max(0).values < 0.99).float().mean() > 0.5  # relaxed: units mix
    else:
        over = torch.cat([torch.stack(logits) >= 0, torch.ones(1, *shape, dtype=torch.bool)])
        first = over.float().argmax(0)  # the first unit whose score is at least ½
        torch.testing.assert_close(weights.argmax(0), first)
        assert set(weights.unique().tolist()) <= {0.0, 1.0}
        torch.testing.assert_close(ponder, first.float() + 1)
        torch.testing.assert_close(steps, first.float() + 1)


def hand_count(halting: str, units_run: tuple[int, int], halters_run: tuple[int, int]) -> int:
    """MACs of AdaptiveResNet((1, 8, 8), 10, width=4, units=3, groups=2) on one image whose
    groups run `units_run` units at all positions: stem 3×3 stride 2 (4 × 4 outputs), max
    pool to 2 × 2 (group 1), transition 3×3 stride 2 to 1 × 1 (group 2), linear head."""
    stem, transition, head = 9 * 1 * 4 * 16, 9 * 4 * 4 * 1, 4 * 10
    unit = 2 * 9 * 4 * 4  # per position
    halter = (9 * 4 if halting == "sact" else 0, 4)  # per position, per image
    total = stem + transition + head
    for positions, run, halters in zip((4, 1), units_run, halters_run, strict=True):
        total += run * unit * positions + halters * (halter[0] * positions + halter[1])
    return total


@pytest.mark.parametrize("halting", ["act", "sact", "pact"])
@pytest.mark.parametrize("bias, units_run", [(20.0, (1, 1)), (-20.0, (3, 3))])
def test_flops_match_a_hand_count(halting, bias, units_run):
    torch.manual_seed(0)
    net = AdaptiveResNet((1, 8, 8), 10, halting=halting, width=4, units=3, groups=2).eval()
    for group in net.groups:
        for unit in group.halting:  # halt at once, or never before the last unit
            torch.nn.init.zeros_(unit.pooled.weight)
            torch.nn.init.constant_(unit.pooled.bias, bias)
            if unit.conv is not None:
                torch.nn.init.zeros_(unit.conv.weight)
    net(torch.randn(3, 1, 8, 8))
    halters = tuple(min(run, 2) for run in units_run)  # the last unit has no halting unit
    expected = hand_count(halting, units_run, halters)
    torch.testing.assert_close(net.stats.macs, torch.full((3,), float(expected)))
    from methodlib.models.stats import count_flops

    assert count_flops(net, (1, 8, 8)) == expected


class FixedHalting(HaltingUnit):
    """A halting unit whose logit is a fixed (H, W) map: +20 halts a position, −20 runs on."""

    def __init__(self, width: int, logit: torch.Tensor):
        super().__init__(width, spatial=True)
        self.logit = logit

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logit.expand(len(x), 1, *self.logit.shape)


def test_sact_flops_count_the_first_convolution_on_the_dilated_mask():
    """After unit 1 of a 6 × 6 group only a corner position and an inner 2 × 2 block go on
    (5 of 36): the reference (mfigurnov/sact, `cifar_model.residual`) spends each later
    unit's second convolution at those 5 positions and its first at the 3 × 3-dilated mask,
    4 positions around the corner and 16 around the block, 20 in all."""
    width, side = 4, 6
    net = AdaptiveResNet((1, 24, 24), 10, halting="sact", width=width, units=3, groups=1).eval()
    logit = torch.full((side, side), 20.0)
    logit[0, 0] = -20.0
    logit[3:5, 3:5] = -20.0
    net.groups[0].halting = torch.nn.ModuleList(FixedHalting(width, logit) for _ in range(2))
    net(torch.randn(2, 1, 24, 24))
    conv, halter = 9 * width * width, (9 * width, width)  # per position; per image
    units = 2 * conv * side**2 + 2 * conv * (20 + 5)  # unit 1 everywhere; units 2, 3
    halters = (halter[0] * side**2 + halter[1]) + (halter[0] * 5 + halter[1])
    expected = net.fixed_macs + units + halters
    torch.testing.assert_close(net.stats.macs, torch.full((2,), float(expected)))


@pytest.mark.parametrize("spatial", [False, True], ids=["act", "sact"])
def test_halting_scores_do_not_move_with_the_features_scale_and_shift(spatial):
    """The reference's halting branches batch-normalise what they read (`resnet_act.py`):
    in training, scaling and shifting each channel of the features leaves the logit alone."""
    torch.manual_seed(0)
    unit = HaltingUnit(4, spatial).train()
    x = torch.randn(8, 4, 5, 5)
    scale, shift = torch.tensor([3.0, 0.5, 7.0, 2.0]), torch.tensor([1.0, -4.0, 0.0, 9.0])
    moved = x * scale[:, None, None] + shift[:, None, None]
    torch.testing.assert_close(unit(moved), unit(x), atol=2e-3, rtol=2e-3)


def test_sact_ponder_map_is_the_sum_of_the_groups_maps():
    torch.manual_seed(1)
    net = AdaptiveResNet((1, 16, 16), 10, halting="sact", width=4, units=3, groups=2).eval()
    out = net(torch.randn(2, 1, 16, 16))
    assert out.shape == (2, 10) and net.stats.map.shape == (2, 4, 4)
    # each group's ρ lies in [1, units + 1]; the map sums two groups, the cost their means
    assert (net.stats.map >= 2).all() and (net.stats.map <= 8).all()
    assert (net.stats.cost >= 2).all()


def test_box_auroc_matches_sklearn_per_image():
    rng = np.random.default_rng(0)
    maps = rng.integers(0, 4, size=(5, 10, 10)).astype(np.float32)  # ties on purpose
    boxes = digit_boxes({"canvas": 40}, 5, seed=0)
    pixels = pixel_maps(maps, 40)
    inside = box_masks(boxes, 40)
    expected = np.mean(
        [roc_auc_score(inside[i].ravel(), pixels[i].ravel()) for i in range(len(maps))]
    )
    assert mean_box_auroc(maps, boxes, 40) == pytest.approx(expected)
    assert mean_box_auroc(np.ones_like(maps), boxes, 40) == pytest.approx(0.5)
    perfect = inside[:, ::4, ::4].astype(np.float32)  # boxes start off the 4-pixel grid
    assert mean_box_auroc(perfect, boxes, 40) > 0.8


def test_prepared_cluttered_test_split_holds_each_digit_at_its_replayed_box(tmp_path):
    """prepare_dataset clutters after splitting, so the task's replay (`digit_boxes` from the
    split's seed) finds every test digit where preparation put it."""
    from methodlib.data import prepare_dataset
    from methodlib.data.prepared import load_prepared
    from methodlib.spec import EmbeddedDatasetSpec

    fields = {"source": "mnist5k", "limit": 100, "split": {"seed": 5}}
    plain = EmbeddedDatasetSpec(**fields)
    cluttered = EmbeddedDatasetSpec(**fields, clutter={"canvas": 36, "pieces": 3, "size": 8})
    meta = prepare_dataset("c", cluttered, tmp_path / "c")
    assert meta["input_shape"] == [1, 36, 36]
    prepare_dataset("p", plain, tmp_path / "p")
    digits_ = load_prepared(tmp_path / "p", standardise=False).test.x.numpy()
    canvas = load_prepared(tmp_path / "c", standardise=False).test.x.numpy()
    boxes = digit_boxes(meta["spec"]["clutter"], len(canvas), meta["spec"]["split"]["seed"])
    for i, (top, left, _, _) in enumerate(boxes):
        r, c = top - 4, left - 4  # the 28 × 28 square around the 20 × 20 box
        assert (canvas[i, 0, r : r + 28, c : c + 28] >= digits_[i, 0] - 1e-6).all()
