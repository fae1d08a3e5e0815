"""What every test shares: each runs in an empty working directory of its own, so that no
``.ecs-nonroot.json`` (the repository's own included) is found unless a test puts one there."""

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _own_working_directory(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    directory = tmp_path_factory.mktemp("cwd")
    monkeypatch.chdir(directory)
    return directory
