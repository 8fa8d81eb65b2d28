"""What several compose test modules share."""

from pathlib import Path

import pytest

from tests.support.compose_loader import build_config_check


@pytest.fixture(scope="session")
def config_check(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """compose/config-check built once: compose-go's loader, pinned by its go.mod and go.sum."""
    return build_config_check(tmp_path_factory.mktemp("config-check"))
