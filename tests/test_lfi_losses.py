"""Every loss of the MadMiner table against a value computed by hand on a 3-4 element batch."""

from __future__ import annotations

import math

import pytest
import torch

from hepnb.lfi import losses

pytestmark = pytest.mark.usefixtures("torch_single_thread")  # expectations measured on one thread

LN2, LN3 = math.log(2.0), math.log(3.0)


def t(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


# batch: log r_hat = (0, ln 2, -ln 2), y = (0, 1, 1)  ->  s_hat = 1/(1+r_hat) = (1/2, 1/3, 2/3)
LOG_R_HAT = t(0.0, LN2, -LN2)
Y = t(0.0, 1.0, 1.0)
# joint ratios r = (1, 3, 1)  ->  s = (1/2, 1/4, 1/2)
LOG_R_TRUE = t(0.0, LN3, 0.0)
T_HAT = t(1.0, 2.0, -1.0)
T_TRUE = t(0.5, 0.0, 3.0)


def test_carl_is_the_cross_entropy_of_s_hat_and_the_label() -> None:
    # -[log(1 - 1/2) + log(1/3) + log(2/3)] / 3
    expected = (LN2 + LN3 + math.log(1.5)) / 3
    assert losses.carl(LOG_R_HAT, Y).item() == pytest.approx(expected, rel=1e-12)


def test_alice_uses_s_of_the_joint_ratio_as_target() -> None:
    # event 1: s=1/2, s_hat=1/2 -> ln 2; event 2: s=1/4, s_hat=1/3 -> -(1/4 ln 1/3 + 3/4 ln 2/3);
    # event 3: s=1/2, s_hat=2/3 -> -(1/2 ln 2/3 + 1/2 ln 1/3)
    e1 = LN2
    e2 = -(0.25 * math.log(1 / 3) + 0.75 * math.log(2 / 3))
    e3 = -(0.5 * math.log(2 / 3) + 0.5 * math.log(1 / 3))
    assert losses.alice(LOG_R_HAT, LOG_R_TRUE).item() == pytest.approx((e1 + e2 + e3) / 3, rel=1e-12)


def test_rolr_regresses_r_on_reference_events_and_one_over_r_on_numerator_events() -> None:
    # y=1 events: (r_hat - r)^2 = (2 - 3)^2, (1/2 - 1)^2; y=0 event: (1/r_hat - 1/r)^2 = (1 - 1)^2
    den = (1.0 + 0.25) / 3
    num = 0.0 / 3
    assert losses.rolr(LOG_R_HAT, Y, LOG_R_TRUE).item() == pytest.approx(num + den, rel=1e-12)
    # the numerator term: one y=0 event with r_hat = 2, r = 4 -> (1/2 - 1/4)^2 over a batch of 2
    value = losses.rolr(t(LN2, 0.0), t(0.0, 1.0), t(math.log(4.0), 0.0)).item()
    assert value == pytest.approx(0.0625 / 2, rel=1e-12)


def test_rolr_clips_the_log_ratios() -> None:
    value = losses.rolr(t(50.0), t(1.0), t(0.0), log_r_clip=1.0).item()
    assert value == pytest.approx((math.e - 1.0) ** 2, rel=1e-12)


def test_score_terms_use_the_one_minus_y_mask() -> None:
    # only the y=0 event enters: (1 - 0.5)^2 / 3
    masked = 0.25 / 3
    assert losses.score_mse(T_HAT, T_TRUE, 1.0 - Y).item() == pytest.approx(masked, rel=1e-12)
    alpha = 2.0
    assert losses.alices(LOG_R_HAT, T_HAT, Y, LOG_R_TRUE, T_TRUE, alpha=alpha).item() == pytest.approx(
        losses.alice(LOG_R_HAT, LOG_R_TRUE).item() + alpha * masked, rel=1e-12
    )
    assert losses.cascal(LOG_R_HAT, T_HAT, Y, T_TRUE, alpha=alpha).item() == pytest.approx(
        (LN2 + LN3 + math.log(1.5)) / 3 + alpha * masked, rel=1e-12
    )
    assert losses.rascal(LOG_R_HAT, T_HAT, Y, LOG_R_TRUE, T_TRUE, alpha=alpha).item() == pytest.approx(
        1.25 / 3 + alpha * masked, rel=1e-12
    )


def test_reference_score_term_of_the_doubly_parameterised_methods() -> None:
    # y t1 mask: events 2 and 3 -> ((2 - 0)^2 + (-1 - 3)^2) / 3 added to the numerator term 0.25/3
    value = losses.alices(LOG_R_HAT, T_HAT, Y, LOG_R_TRUE, T_TRUE, alpha=1.0, t1_hat=T_HAT, t1_true=T_TRUE).item()
    alice = losses.alice(LOG_R_HAT, LOG_R_TRUE).item()
    assert value == pytest.approx(alice + 0.25 / 3 + 20.0 / 3, rel=1e-12)
    with pytest.raises(ValueError, match="both"):
        losses.cascal(LOG_R_HAT, T_HAT, Y, T_TRUE, t1_hat=T_HAT)


def test_sally_and_sallino_are_the_score_mse() -> None:
    # differences (0.5, 2, -4): (0.25 + 4 + 16) / 3
    assert losses.sally(T_HAT, T_TRUE).item() == pytest.approx(20.25 / 3, rel=1e-12)
    assert losses.sallino(T_HAT, T_TRUE).item() == pytest.approx(20.25 / 3, rel=1e-12)
    two_params = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    assert losses.sally(two_params, torch.zeros(2, 2, dtype=torch.float64)).item() == pytest.approx(5.0 / 4)


def test_nde_and_scandal() -> None:
    log_p = t(-1.0, -2.0, -3.0, -6.0)
    assert losses.nde(log_p).item() == pytest.approx(3.0, rel=1e-12)
    t_hat, t_true = t(1.0, 1.0, 0.0, 0.0), t(0.0, 1.0, 0.0, 2.0)
    # 3 + 0.5 * (1 + 0 + 0 + 4) / 4
    assert losses.scandal(log_p, t_hat, t_true, alpha=0.5).item() == pytest.approx(3.625, rel=1e-12)


def test_losses_are_differentiable_and_minimised_by_the_truth() -> None:
    log_r_hat = LOG_R_TRUE.clone().requires_grad_(True)
    loss = losses.alice(log_r_hat, LOG_R_TRUE)
    (grad,) = torch.autograd.grad(loss, log_r_hat)
    assert torch.allclose(grad, torch.zeros(3, dtype=torch.float64), atol=1e-12)
