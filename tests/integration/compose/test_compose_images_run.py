"""Our images build without Docker or a registry (podman, on a base made by debootstrap) and run
against the local stack: compose/podman-smoke.sh, on every run of the suite. It needs root and
Debian's podman, runc and debootstrap, which `make test` installs
(stack/install-system-packages.sh). The first run on a machine makes the base image (a few
minutes); later runs rebuild only what changed."""

import shutil
import subprocess

import pytest

from kernel.settings import REPO_ROOT

pytestmark = pytest.mark.integration


# The first run on a machine makes the base and builds every layer: 26 minutes measured on a
# machine running six stacks at once (load 30+), 3 to 4 minutes warm on the same machine.
@pytest.mark.timeout(2400)
def test_the_images_build_with_podman_and_serve_the_bank_against_the_local_stack(running_stack):
    missing = [tool for tool in ("podman", "runc", "debootstrap") if shutil.which(tool) is None]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} missing: bash stack/install-system-packages.sh installs them",
            pytrace=False,
        )
    result = subprocess.run(
        ["bash", str(REPO_ROOT / "compose" / "podman-smoke.sh")],
        capture_output=True,
        text=True,
        timeout=2300,
        check=False,
    )
    output = result.stdout[-6000:] + result.stderr[-6000:]
    assert result.returncode == 0, output
    assert "the gateway welcomed 'demo'" in result.stdout, output
    assert "the worker derived 1 balance change on smoke-soi-" in result.stdout, output
    assert "sor.bank.money among them" in result.stdout, output
