"""Tests of gan/evaluation/classifier.py's training (the shipped evaluator is weights/mnist_classifier.safetensors)."""
from gan.evaluation.classifier import train_classifier
from tests.helpers import synthetic_digits


def test_training_learns_the_digits_and_reports_each_epoch():
    train, test = synthetic_digits(320, seed=0), synthetic_digits(100, seed=1)
    said = []
    model, acc = train_classifier(train, test, epochs=1, batch_size=8, log=said.append)
    assert acc >= 0.2 and not model.training                      # 40 steps: well above chance (0.1), eval mode
    assert len(said) == 1 and said[0].startswith("epoch 1/1: loss ") and f"test accuracy {acc:.4%}" in said[0]


def test_the_classifier_command_writes_the_shipped_evaluator_by_default():
    from gan.commands import build_parser
    from gan.evaluation.classifier import DEFAULT_WEIGHTS
    args = build_parser().parse_args(["classifier"])
    assert (args.out, args.epochs, args.seed, args.data) == (str(DEFAULT_WEIGHTS), 4, 0, None)
    assert DEFAULT_WEIGHTS.name == "mnist_classifier.safetensors" and DEFAULT_WEIGHTS.parent.name == "weights"
