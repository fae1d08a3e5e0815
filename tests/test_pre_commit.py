"""The pre-commit hook (.pre-commit-hooks.yaml), installed and run by pre-commit itself."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = Path(__file__).resolve().parent / "fixtures" / "templates" / "scenarios.yaml"
PRE_COMMIT = str(Path(sys.executable).with_name("pre-commit"))
COMPLIANT = """\
Resources:
  Web:
    Type: AWS::ECS::TaskDefinition
    Properties:
      ContainerDefinitions: [{Name: web, Image: nginx, User: "101:101"}]
"""


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository holding a compliant and a non-compliant template."""
    directory = tmp_path_factory.mktemp("repository")
    (directory / "compliant.yaml").write_text(COMPLIANT, encoding="utf-8")
    shutil.copy(SCENARIOS, directory / "scenarios.yaml")
    (directory / "settings.json").write_text('{"not": "a template"}', encoding="utf-8")
    (directory / "broken.yaml").write_text("Resources: [1, 2\nx: }\n", encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=directory, check=True)
    subprocess.run(["git", "add", "."], cwd=directory, check=True)
    return directory


def try_repo(repository: Path, home: Path, *files: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PRE_COMMIT, "try-repo", str(ROOT), "ecs-nonroot", "--verbose", "--files", *files],
        cwd=repository,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PRE_COMMIT_HOME": str(home)},
    )


def test_pre_commit_runs_the_check_on_changed_templates(
    repository: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = tmp_path_factory.mktemp("pre-commit-home")
    passing = try_repo(repository, home, "compliant.yaml", "settings.json")
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "settings.json" not in passing.stdout  # not a template: counted, not listed
    assert "(1 skipped, 0 unreadable)" in passing.stdout
    # one invocation, so one summary (the command parallelizes on its own)
    assert passing.stdout.count(" unreadable): ") == 1
    failing = try_repo(repository, home, "compliant.yaml", "scenarios.yaml")
    assert failing.returncode == 1, failing.stdout + failing.stderr
    line = user_line(SCENARIOS, "FailRootUserZero")
    assert f"scenarios.yaml:{line}:11: error [root-user] FailRootUserZero" in failing.stdout


def test_pre_commit_fails_on_a_file_it_cannot_read(
    repository: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    result = try_repo(repository, tmp_path_factory.mktemp("pre-commit-home"), "broken.yaml")
    assert result.returncode == 1, result.stdout + result.stderr  # pre-commit's "hook failed"
    assert "- exit code: 2" in result.stdout
    assert "broken.yaml: error: cannot read: not valid YAML or JSON" in result.stdout


def user_line(template: Path, logical_id: str) -> int:
    """The line of the first ``User:`` after ``logical_id`` in a fixture template."""
    lines = template.read_text(encoding="utf-8").splitlines()
    start = lines.index(f"  {logical_id}:")
    return next(n for n in range(start, len(lines)) if lines[n].strip().startswith("User:")) + 1
