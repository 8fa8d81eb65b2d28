"""Our three images build without Docker or a registry (podman, on a base made by debootstrap) and
run against the local stack: compose/podman-smoke.sh. It needs root, Debian's podman, runc and
debootstrap, and a few minutes, so it runs only when asked: BANK_PODMAN_SMOKE=1."""

import os
import shutil
import subprocess

import pytest

from kernel.settings import REPO_ROOT

pytestmark = pytest.mark.integration


@pytest.mark.skipif(
    os.environ.get("BANK_PODMAN_SMOKE") != "1",
    reason="builds and runs the images with podman; set BANK_PODMAN_SMOKE=1 to run it",
)
def test_the_images_build_with_podman_and_serve_the_bank_against_the_local_stack():
    missing = [tool for tool in ("podman", "runc", "debootstrap") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"apt-get install {' '.join(missing)} to run this test", pytrace=False)
    result = subprocess.run(
        ["bash", str(REPO_ROOT / "compose" / "podman-smoke.sh")],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "the gateway welcomed 'demo'" in result.stdout
