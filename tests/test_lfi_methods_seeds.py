"""Each sample role of a study seed has its own generator seed (hepnb.lfi.methods.sample_seed; issue 17, point 8)."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from hepnb import lfi
from hepnb import offshell as osh
from hepnb.errors import InputError
from hepnb.lfi import methods, study


def test_no_two_seed_role_pairs_share_a_generator_seed() -> None:
    pairs = {(seed, role): methods.sample_seed(seed, role) for seed in range(1001) for role in methods.SAMPLE_ROLES}
    assert len(pairs) == 3 * 1001 and len(set(pairs.values())) == len(pairs)
    assert all(0 <= s < 2**63 for s in pairs.values())  # fits the int64 metadata of a sample
    # seed arithmetic is gone: seed 3's evaluation seed is not seed 4's training seed, nor 3 + 1
    assert pairs[3, "evaluation"] not in (pairs[4, "train"], 4)
    assert pairs[3, "calibration"] not in (pairs[5, "train"], pairs[4, "evaluation"], 5)
    # numpy's documented spawn: the role's child of SeedSequence(seed)
    child = np.random.SeedSequence(3).spawn(3)[methods.SAMPLE_ROLES.index("evaluation")]
    assert pairs[3, "evaluation"] == int(child.generate_state(1, dtype=np.uint64)[0]) >> 1
    assert methods.sample_seed(np.int64(3), "train") == pairs[3, "train"]  # numpy integers as Python ones


def test_sample_seed_bad_input() -> None:
    with pytest.raises(InputError, match="role must be one of"):
        methods.sample_seed(3, "test")
    for bad in (-1, 1.5, True, "3"):
        with pytest.raises(InputError, match="seed must be a non-negative integer"):
            methods.sample_seed(bad, "train")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="seed must be a non-negative integer"):
        study.make_samples(2000, 2000, seed=-1)


def test_samples_use_their_roles_seeds_and_are_reproducible() -> None:
    train, test = study.make_samples(3000, 2000, seed=3)
    cal = study.make_calibration_sample(2000, seed=3)
    assert [s.meta["seed"] for s in (train, test, cal)] == [methods.sample_seed(3, r) for r in methods.SAMPLE_ROLES]
    # same seed, same bytes
    train2, test2 = study.make_samples(3000, 2000, seed=3)
    cal2 = study.make_calibration_sample(2000, seed=3)
    for a, b in ((train, train2), (test, test2), (cal, cal2)):
        form_a, length_a, buffers_a = ak.to_buffers(ak.to_packed(a.array))
        form_b, length_b, buffers_b = ak.to_buffers(ak.to_packed(b.array))
        assert (form_a, length_a) == (form_b, length_b) and buffers_a.keys() == buffers_b.keys()
        assert all(bytes(buffers_a[k]) == bytes(buffers_b[k]) for k in buffers_a)
        assert a.meta == b.meta
    # the training sample is the generator's output for the training role's seed, weights untouched
    direct = osh.generate(3000, methods.sample_seed(3, "train"), detector="none", preset=study.PRESET, progress=False)
    np.testing.assert_array_equal(direct.weight(1.0), train.weight(1.0))
    # no event shared between the roles of one seed, nor with the next seed's training sample
    next_train, _ = study.make_samples(3000, 1000, seed=4)
    m4l = [set(np.asarray(s.x["m4l"], dtype=float).tolist()) for s in (train, test, cal, next_train)]
    assert all(not m4l[i] & m4l[j] for i in range(4) for j in range(i + 1, 4))


@pytest.mark.usefixtures("torch_single_thread")
def test_train_method_ensemble_members_and_mean() -> None:
    train, test = study.make_samples(3000, 1000, seed=3)
    options = dict(n_samples=400, seed=5, max_epochs=2, n_hidden=(8,), thetas=(0.5, 1.5))
    pair = methods.train_method("alices", train, members=2, **options)
    again = methods.train_method("alices", train, members=2, **options)
    single = methods.train_method("alices", train, **options)  # members=1: trained with the seed itself
    x, _ = lfi.observables_matrix(test, "thesis-ch7")
    first, second = (m.log_ratio(x, 0.5) for m in pair.estimator.members)
    assert not np.allclose(first, second)  # independent member seeds
    np.testing.assert_allclose(pair.estimator.log_ratio(x, 0.5), (first + second) / 2, rtol=1e-12)
    np.testing.assert_array_equal(again.estimator.log_ratio(x, 0.5), pair.estimator.log_ratio(x, 0.5))
    assert not np.allclose(single.estimator.log_ratio(x, 0.5), first)  # member 0 has its own seed, not `seed`
    assert pair.best_epoch == max(pair.member_best_epochs) and len(pair.member_best_epochs) == 2
    assert single.member_best_epochs == ()
    for bad in (0, -1, 1.5, True):
        with pytest.raises(InputError, match="members must be a positive number"):
            methods.train_method("alices", train, members=bad, **options)  # type: ignore[arg-type]
