"""Tests of gan/app/explanations.py."""


def test_the_train_explanations_say_why_early_columns_look_alike():
    from gan.app import explanations
    text = " ".join(explanations.TRAIN.split())
    assert "almost the same" in text and '"no clear digits yet"' in text
