"""Repository hygiene: build leftovers untracked, production installs runtime dependencies only,
tests hash passwords fast."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEV_ONLY = ["playwright", "schemathesis", "pytest", "hypothesis", "factory-boy", "ruff", "mypy", "import-linter"]


def git(*args):
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)


def pins(path: Path) -> dict[str, str]:
    return dict(re.findall(r"^([a-z0-9_.-]+)==(\S+)", path.read_text(), re.MULTILINE))


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="not a git checkout")
def test_build_leftovers_are_neither_tracked_nor_committable():
    tracked = git("ls-files", "suivi.egg-info", ".schemathesis").stdout.split()
    assert tracked == []
    for path in ("suivi.egg-info/PKG-INFO", ".schemathesis/default/cache/x.json"):
        assert git("check-ignore", "-q", path).returncode == 0, path


def test_production_lock_holds_no_development_tool():
    runtime, dev = pins(ROOT / "requirements.lock"), pins(ROOT / "requirements-dev.lock")
    for name in DEV_ONLY:
        assert name not in runtime, name
        assert name in dev, name
    # The development lock installs exactly the production versions, plus its tools.
    assert {name: dev.get(name) for name in runtime} == runtime
    assert "django" in runtime and "gunicorn" in runtime


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
def test_make_run_installs_the_runtime_lock_and_make_test_the_development_one():
    def commands(target):
        return subprocess.run(["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True).stdout

    run, test = commands("run"), commands("test")
    assert "-r requirements.lock" in run and "requirements-dev.lock" not in run
    assert "-r requirements-dev.lock" in test


def test_tests_hash_passwords_with_a_fast_hasher(plain_user):
    # Production hashes with Argon2 (tests/test_auth.py checks it, marked production_hashers).
    assert plain_user.password.startswith("md5$")
