"""Metrics on real MNIST with the shipped evaluator classifier."""
import pytest
import torch

from gan.evaluation import metrics
from gan.evaluation.classifier import accuracy, embed, load_classifier


@pytest.fixture(scope="module")
def feats(mnist_dir):
    from gan.engine.data import load_mnist
    from gan.evaluation.evaluate import reference
    test = load_mnist("test", mnist_dir)
    clf = load_classifier()
    ref = reference(10000, data_dir=str(mnist_dir))      # the evaluator's own features (cached for the session)
    f_test, p_test, f_train = ref["feats"][:5000], ref["probs"][:5000], ref["train_feats"][:5000]
    assert torch.equal(embed(test.images[:1000], clf)[0], ref["feats"][:1000])   # the same features, however reached
    noise = (torch.rand(2000, 28, 28, generator=torch.Generator().manual_seed(1)) * 255).to(torch.uint8)
    f_noise, _ = embed(noise, clf)
    ones = test.images[test.labels == 1][:1000]                    # a generator collapsed onto one digit
    f_ones, p_ones = embed(ones, clf)
    return dict(test=f_test, p_test=p_test, train=f_train, noise=f_noise, ones=f_ones, p_ones=p_ones,
                labels=test.labels[:5000], test_data=test)


def test_classifier_accuracy_is_at_least_99_percent(feats, mnist_dir):
    from gan.evaluation.evaluate import reference
    ref = reference(10000, data_dir=str(mnist_dir))
    assert (ref["probs"].argmax(1) == ref["labels"]).double().mean() >= 0.99          # all 10,000 test digits
    from gan.engine.data import Digits
    test = feats["test_data"]
    first = Digits(test.images[:2000], test.labels[:2000])
    assert accuracy(load_classifier(), first) == pytest.approx(
        (ref["probs"][:2000].argmax(1) == ref["labels"][:2000]).double().mean().item())


def test_fid_against_itself_is_zero(feats):
    assert abs(metrics.fid(feats["test"], feats["test"])) < 1e-6


def test_fid_real_is_far_below_noise_and_collapse(feats):
    floor = metrics.fid(feats["train"], feats["test"])
    assert 0 < floor < 2.0
    assert metrics.fid(feats["noise"], feats["test"]) > 50 * floor
    assert metrics.fid(feats["ones"], feats["test"]) > 20 * floor


def test_fid_matches_a_direct_matrix_square_root():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(500, 6, generator=g, dtype=torch.float64), torch.randn(400, 6, generator=g, dtype=torch.float64) * 1.5 + 0.3
    (m1, c1), (m2, c2) = metrics.feature_stats(a), metrics.feature_stats(b)
    vals, vecs = torch.linalg.eig(c1 @ c2)                            # sqrtm via eigendecomposition of C1 C2
    tr_sqrt = vals.sqrt().real.sum()
    direct = ((m1 - m2) ** 2).sum() + c1.trace() + c2.trace() - 2 * tr_sqrt
    assert metrics.fid(a, b) == pytest.approx(direct.item(), rel=1e-8)


def test_classifier_score_real_near_ten_and_collapsed_near_one(feats):
    assert metrics.classifier_score(feats["p_test"]) > 9.3
    assert metrics.classifier_score(feats["p_ones"]) < 1.3
    assert metrics.classifier_score(torch.full((10, 10), 0.1)) == pytest.approx(1.0)


def test_mode_coverage(feats):
    hist = metrics.class_histogram(feats["p_test"])
    assert metrics.modes_covered(hist) == 10 and metrics.kl_to_uniform(hist) < 0.01
    collapsed = metrics.class_histogram(feats["p_ones"])
    assert metrics.modes_covered(collapsed) == 1 and metrics.kl_to_uniform(collapsed) > 2


def test_the_histogram_always_has_ten_bars():
    """A missing digit is a bar of 0, not a shorter histogram (the app draws ten bars)."""
    probs = torch.nn.functional.one_hot(torch.tensor([0, 1, 1, 3]), 10).float()
    assert metrics.class_histogram(probs) == [0.25, 0.5, 0, 0.25, 0, 0, 0, 0, 0, 0]


def test_precision_recall(feats):
    p, r = metrics.precision_recall(feats["test"][:2000], feats["train"][:2000])
    assert p > 0.7 and r > 0.7
    p, r = metrics.precision_recall(feats["test"][:2000], feats["ones"])
    assert p > 0.7 and r < 0.3                      # realistic but not diverse
    p, r = metrics.precision_recall(feats["test"][:2000], feats["noise"])
    assert p < 0.05


def test_label_accuracy_on_real_labelled_data(feats):
    assert metrics.label_accuracy(feats["p_test"], feats["labels"]) > 0.99
    shuffled = feats["labels"][torch.randperm(5000, generator=torch.Generator().manual_seed(0))]
    assert metrics.label_accuracy(feats["p_test"], shuffled) < 0.2


def test_the_manifold_radius_is_the_kth_nearest_other_point():
    """Precision/recall's k-NN radius skips the point itself: on 0, 1, 3, 7 the nearest other
    point is 1, 1, 2, 4 away, the second nearest 3, 2, 3, 6."""
    pts = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    assert metrics.kth_nn_radius(pts, 1).tolist() == [1, 1, 2, 4]
    assert metrics.kth_nn_radius(pts, 2).tolist() == [3, 2, 3, 6]
    fake = torch.tensor([[2.4], [11.5], [-1.5]])    # inside 3's ball (radius 2); 4.5 from 7 (radius 4); 1.5 from 0 (radius 1)
    precision, _ = metrics.precision_recall(pts, fake, k=1)
    assert precision == pytest.approx(1 / 3)
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(60, 4, generator=g), torch.randn(50, 4, generator=g) + 0.7
    default = metrics.precision_recall(real, fake)
    assert default == metrics.precision_recall(real, fake, k=3) != metrics.precision_recall(real, fake, k=4)
    # a fixed reference's radii, computed once and passed in, give the same answer
    assert metrics.precision_recall(real, fake, real_radii=metrics.kth_nn_radius(real, 3)) == default
    with pytest.raises(ValueError, match="one radius per real point"):
        metrics.precision_recall(real, fake, real_radii=metrics.kth_nn_radius(real[:10], 3))


def test_the_classifier_score_of_confident_predictions_with_a_missing_digit():
    """One-hot predictions 0, 1, 1, 3: exp(mean KL(p(y|x) || p(y))) = 2 ** 1.5; a digit nobody
    drew (p(y) = 0) must not turn the score into NaN."""
    probs = torch.nn.functional.one_hot(torch.tensor([0, 1, 1, 3]), 10).double()
    assert metrics.classifier_score(probs) == pytest.approx(2 ** 1.5)


def test_crisp_pixels_counts_only_clear_ink_and_clear_background():
    import torch

    from gan.evaluation.metrics import crisp_pixels
    img = torch.tensor([[0, 31, 32, 128], [223, 224, 255, 100]], dtype=torch.uint8)
    assert crisp_pixels(img) == 4 / 8                       # 0, 31, 224, 255; the edges 32 and 223 are grey
    assert crisp_pixels(torch.full((3, 28, 28), 128, dtype=torch.uint8)) == 0.0


def test_a_digit_under_five_percent_is_not_a_mode():
    """Bug: the mode counter's 5 % threshold changed (e.g. to 0.5 %)."""
    from gan.evaluation.metrics import modes_covered
    hist = [0.3, 0.3, 0.3, 0.04, 0.03, 0.02, 0.01, 0.0, 0.0, 0.0]
    assert modes_covered(hist) == 3
    assert modes_covered([0.05] * 2 + [0.9] + [0.0] * 7) == 3
