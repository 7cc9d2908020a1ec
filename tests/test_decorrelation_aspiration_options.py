"""The aspiration network's ``score_input`` option: an adversary on the standardised logit sees a (score, m)
dependence however much the classifier compresses its score, the default stays the thesis' probability input, and
archives trained before the option still resume."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import hepnb.decorrelation as dc
from hepnb.decorrelation import losses
from hepnb.errors import InputError
from hepnb.training import fit

pytestmark = pytest.mark.usefixtures("torch_single_thread")


def dependent_batch(n: int = 512, seed: int = 0) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """A batch whose score logit rises with m within both components (0 signal, 1 background)."""
    generator = torch.Generator().manual_seed(seed)
    y = (torch.rand(n, generator=generator) < 0.5).long()
    m = torch.rand(n, 1, generator=generator)
    logit = 4 * m[:, 0] - 2 + 0.5 * torch.randn(n, generator=generator)
    return {"x": torch.zeros(n, 3), "y": y, "w": torch.ones(n), "m": m, "c": 1 - y}, logit


def network(score_input: str) -> dc.AspirationNetwork:
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return dc.AspirationNetwork(3, conditional=True, n_components=2, score_input=score_input)


def adversary_gain(score_input: str, score: torch.Tensor, batch: dict[str, torch.Tensor]) -> float:
    """How far below chance (2 ln 2) the adversary's loss gets after 200 Adam steps on the fixed scores."""
    model = network(score_input)
    optimiser = torch.optim.Adam(model.adversary.parameters(), lr=3e-3)
    for _ in range(200):
        loss = model.adversary_loss(batch, score)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    with torch.random.fork_rng(), torch.no_grad():
        torch.manual_seed(5)
        mean_loss = np.mean([float(model.adversary_loss(batch, score)) for _ in range(10)])
    return 2 * math.log(2) - float(mean_loss)


def test_a_compressed_score_hides_its_mass_dependence_from_the_probability_input_only() -> None:
    batch, logit = dependent_batch()
    plain, compressed = torch.sigmoid(logit), torch.sigmoid(0.01 * logit)  # same ranking, 100 times narrower
    probability = adversary_gain("probability", plain, batch), adversary_gain("probability", compressed, batch)
    standardised = (
        adversary_gain("standardised_logit", plain, batch),
        adversary_gain("standardised_logit", compressed, batch),
    )
    assert probability[0] > 0.4 and standardised[0] > 0.4  # both find the dependence of the plain score
    assert probability[1] < 0.01  # measured 6e-5: the compressed score looks independent of m
    assert standardised[1] == pytest.approx(standardised[0], abs=0.02)  # measured 0.491 and 0.491


def test_standardised_logit_input_ignores_the_scale_and_offset_of_the_logit() -> None:
    batch, logit = dependent_batch()
    losses_of = {}
    for score_input in ("probability", "standardised_logit"):
        model = network(score_input)
        values = []
        for score in (torch.sigmoid(logit), torch.sigmoid(0.01 * logit - 0.3)):
            with torch.random.fork_rng(), torch.no_grad():
                torch.manual_seed(1)  # the same permutation of the batch
                values.append(float(model.adversary_loss(batch, score)))
        losses_of[score_input] = values
    assert losses_of["standardised_logit"][0] == pytest.approx(losses_of["standardised_logit"][1], abs=1e-5)
    assert abs(losses_of["probability"][0] - losses_of["probability"][1]) > 5e-4  # measured 8.7e-4


def test_standardised_logit_is_differentiable_and_standardised() -> None:
    score = torch.tensor([0.2, 0.4, 0.7, 0.9], requires_grad=True)
    z = losses.standardised_logit(score)
    assert float(z.detach().mean()) == pytest.approx(0, abs=1e-6)
    assert float(z.detach().std()) == pytest.approx(1, abs=1e-5)
    (z * torch.tensor([0.0, 0.0, 0.0, 1.0])).sum().backward()
    assert score.grad is not None and float(score.grad[3]) > 0
    assert abs(float(score.grad[0])) > 0.1  # through the batch mean and sd: not detached


def test_the_default_stays_unrecorded_and_bad_values_are_refused() -> None:
    assert "score_input" not in dc.AspirationNetwork(3).hparams
    assert dc.AspirationNetwork(3, score_input="standardised_logit").hparams["score_input"] == "standardised_logit"
    with pytest.raises(InputError, match="score_input must be one of"):
        dc.AspirationNetwork(3, score_input="logit")


def test_archives_resume_and_reload_with_their_score_input(tmp_path) -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 512)
    m = rng.random(512)
    x = np.stack([m + rng.normal(0, 0.1, 512), y + rng.normal(0, 1, 512)], axis=1)
    data = dc.DecorrelationDataModule(x, y, m, batch_size=128)
    for score_input in ("probability", "standardised_logit"):
        folder = tmp_path / score_input
        for epochs in (1, 2):  # the second call resumes the archive of the first
            archive = fit(
                lambda score_input=score_input: dc.AspirationNetwork(2, score_input=score_input),
                data,
                folder,
                max_epochs=epochs,
                seed=3,
                progress=False,
            )
        assert archive.last_epoch == 2
        assert archive.load().hparams.get("score_input", "probability") == score_input
