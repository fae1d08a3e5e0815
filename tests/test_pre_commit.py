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
    (directory / "broken.yaml").write_text(
        "Resources: [1, 2\nx: {Type: AWS::ECS::TaskDefinition}}\n", encoding="utf-8"
    )
    (directory / "chart" / "templates").mkdir(parents=True)
    (directory / "chart" / "templates" / "deployment.yaml").write_text(HELM, encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=directory, check=True)
    subprocess.run(["git", "add", "."], cwd=directory, check=True)
    return directory


HELM = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "app.fullname" . }}
spec:
  {{- if not .Values.autoscaling.enabled }}
  replicas: {{ .Values.replicaCount }}
  {{- end }}
"""
"""A Helm chart template: Go-templated YAML, not valid YAML, and no task definition in it."""


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


def test_pre_commit_skips_a_helm_chart_template_with_a_note(
    repository: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = tmp_path_factory.mktemp("pre-commit-home")
    result = try_repo(repository, home, "compliant.yaml", "chart/templates/deployment.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "chart/templates/deployment.yaml: skipped: not a CloudFormation template (not valid YAML "
        "or JSON, and no task definition can be written in it" in result.stdout
    )


def test_pre_commit_reads_the_repositorys_configuration_and_its_warn_only(
    repository: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """.ecs-nonroot.json at the repository's root is found by the hook with no arguments: its
    WarnOnly turns the missing User into a warning that does not fail the commit."""
    missing = "Resources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n"
    missing += "      ContainerDefinitions: [{Name: web, Image: nginx}]\n"
    (repository / "missing.yaml").write_text(missing, encoding="utf-8")
    home = tmp_path_factory.mktemp("pre-commit-home")
    failing = try_repo(repository, home, "missing.yaml")
    assert failing.returncode == 1, failing.stdout + failing.stderr
    config = repository / ".ecs-nonroot.json"
    config.write_text('{"WarnOnly": ["missing-user"]}', encoding="utf-8")
    try:
        passing = try_repo(repository, home, "missing.yaml")
    finally:
        config.unlink()
        (repository / "missing.yaml").unlink()
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert 'missing.yaml:5:30: warning [missing-user] T container "web" User' in passing.stdout
