"""Tests of gan/evaluation/neighbours.py: is it memorising?"""
import pytest

from gan.engine.data import load_mnist
from gan.evaluation.classifier import embed
from gan.evaluation.neighbours import COPY_RATIO, NEW_RATIO, Neighbours, TrainingSet, training_set


def _set(digits) -> TrainingSet:
    feats = embed(digits.images)[0].float()
    return TrainingSet(feats, feats.pow(2).sum(1), digits.images, digits.labels, typical=2.0)


def test_a_training_digit_is_its_own_nearest_and_the_rest_follow_by_distance(fake_digits):
    ts = _set(fake_digits)
    for i in (0, 7, 123):
        near = ts.nearest(fake_digits.images[i].numpy(), k=3)[0]
        assert near.indices[0] == i and near.distances[0] < 1e-2
        assert near.distances == sorted(near.distances) and len(set(near.indices)) == 3
        assert (near.images[0] == fake_digits.images[i].numpy()).all() and near.labels[0] == int(fake_digits.labels[i])


@pytest.mark.parametrize("ratio, says", [(COPY_RATIO * 0.99, "near-copy"), (COPY_RATIO, "no sign of copying"),
                                         (NEW_RATIO, "no sign of copying"), (NEW_RATIO * 1.01, "Farther")])
def test_the_verdict_on_each_side_of_its_thresholds(ratio, says):
    near = Neighbours([0, 1, 2], [ratio * 2.0, 3.0, 4.0], None, [0, 0, 0], typical=2.0)
    assert says in near.verdict and f"{ratio:.2f}x" in near.verdict


def test_on_real_mnist_a_training_digit_is_its_own_nearest_and_a_test_digit_is_typical():
    ts = training_set()
    train, test = load_mnist("train"), load_mnist("test")
    assert len(ts.feats) == len(train) == 60000 and 0.5 < ts.typical < 10
    near = ts.nearest(train.images[[5, 40000]].numpy())
    assert [n.indices[0] for n in near] == [5, 40000] and max(n.distances[0] for n in near) < 0.05 * ts.typical
    fresh = ts.nearest(test.images[1000:1200].numpy())                # not the 1,000 the typical distance came from
    ratios = sorted(n.ratio for n in fresh)
    assert 0.7 < ratios[len(ratios) // 2] < 1.4                       # a new real digit is typical, by construction
