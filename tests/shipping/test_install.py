"""The one rule that decides whether a new generator replaces a shipped one (`better`), on both
sides of each of its edges, and which files of a weights folder are generators."""
from gan.shipping.install import better, shipped_names


def entry(fid_ratio, floor=10.0, **more):
    return {"fid_ratio": fid_ratio, "floor_fid": floor, **more}


def test_a_lower_fid_ratio_wins_an_equal_or_higher_one_does_not():
    assert better(entry(5.0), entry(5.1))
    assert not better(entry(5.0), entry(5.0))
    assert not better(entry(5.1), entry(5.0))


def test_anything_beats_nothing_shipped():
    assert better(entry(500.0), None) and better(entry(500.0), {})


def test_scores_against_another_real_data_floor_are_never_comparable():
    """Within 1 % of the shipped floor the two are the same reference; past it, even a far better
    ratio is not adopted (a smoke run's smaller test sample has another floor)."""
    assert better(entry(2.0, floor=10.1), entry(5.0, floor=10.0))          # 1 %: same reference
    assert better(entry(2.0, floor=9.9), entry(5.0, floor=10.0))
    assert not better(entry(2.0, floor=10.11), entry(5.0, floor=10.0))     # past 1 %, either side
    assert not better(entry(2.0, floor=9.89), entry(5.0, floor=10.0))


def test_a_single_digit_model_is_judged_by_its_share_of_the_chosen_digit_not_fid():
    old = entry(3.0, digit_share=0.95)
    assert better(entry(9.0, digit_share=0.96), old)                       # worse FID, more of the digit
    assert not better(entry(1.0, digit_share=0.95), old)                   # better FID, same share
    assert not better(entry(1.0, digit_share=0.94), old)
    assert better(entry(1.0, digit_share=0.5), entry(3.0))                 # the old one never measured it: FID decides


def test_a_weights_folder_ships_its_generators_not_the_evaluator_or_the_directions(tmp_path):
    for stem in ("dcgan", "cgan", "mnist_classifier", "directions"):
        (tmp_path / f"{stem}.safetensors").write_bytes(b"")
    (tmp_path / "samples").mkdir()
    (tmp_path / "samples" / "dcgan.png").write_bytes(b"")
    (tmp_path / "notes.json").write_text("{}")
    assert shipped_names(tmp_path) == ["cgan", "dcgan"]
