#!/usr/bin/env bash
# Builds our three images without Docker and without any registry, and starts them against the
# running local stack (`make up`): the proof, on a machine with no Docker engine, that the
# Dockerfiles build and the images run.
#
# The base image is made here: Debian bookworm by debootstrap, with Debian's Python 3.11 and its
# headers, imported into podman under the name the Dockerfiles start FROM. Then:
#   - the system of record's image runs the set-up steps that leave the shared database alone
#     (migrate --check, collectstatic, the live-feed keys and their publication), then gunicorn;
#   - the gateway's image runs with the public key volume mounted read-only and follows Kafka;
#   - a live-feed token minted by the first is accepted by the second over a websocket;
#   - the worker's image imports its app (it is not started: it would join the local worker's
#     consumer group and take partitions from it).
# The containers listen on SMOKE_SOR_PORT / SMOKE_SOE_PORT (18000 / 18001), beside the local stack.
#
# Needs root and Debian's podman, runc and debootstrap (apt-get install podman runc debootstrap).
# Usage: compose/podman-smoke.sh            (tests/integration/compose/ runs it when asked)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

work="${SMOKE_WORK_DIR:-/tmp/live-bank-podman}"
sor_port="${SMOKE_SOR_PORT:-18000}"
soe_port="${SMOKE_SOE_PORT:-18001}"
base=docker.io/library/python:3.11-slim-bookworm
prefix=live-bank-smoke
python=.venv/bin/python

for tool in podman runc debootstrap; do
    command -v "$tool" > /dev/null || {
        echo "podman-smoke: $tool is missing; apt-get install podman runc debootstrap" >&2
        exit 2
    }
done

# runc with cgroupfs, and limits no higher than the hard ones: what a container without a full
# cgroup v2 tree (a CI sandbox) allows. Harmless elsewhere. No HEALTHCHECK: on the host's network
# its default ports are the local stack's; the readiness URLs are asked below, on the smoke ports.
run() {
    podman --runtime runc --cgroup-manager=cgroupfs run --network=host --no-healthcheck \
        --ulimit "nofile=4096:4096" --ulimit "nproc=4096:4096" "$@"
}

cleanup() {
    podman rm --force --time 5 "$prefix-sor" "$prefix-soe" > /dev/null 2>&1 || true
    podman volume rm --force "$prefix-sor-state" "$prefix-public-key" > /dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup

if ! podman image exists "$base"; then
    echo "==> making the base image: debootstrap bookworm into $work/rootfs"
    rm -rf "$work/rootfs"
    mkdir -p "$work"
    debootstrap --variant=minbase \
        --include=python3,python3-venv,python3-dev,python-is-python3,ca-certificates \
        bookworm "$work/rootfs" http://deb.debian.org/debian > "$work/debootstrap.log"
    # A TLS-inspecting proxy's authority, when this machine trusts one, so pip reaches PyPI.
    if compgen -G "/usr/local/share/ca-certificates/*.crt" > /dev/null; then
        cp /usr/local/share/ca-certificates/*.crt "$work/rootfs/usr/local/share/ca-certificates/"
        chroot "$work/rootfs" update-ca-certificates > /dev/null
    fi
    rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
    tar -C "$work/rootfs" -c . | podman import - "$base" > /dev/null
fi

for image in sor soi soe; do
    echo "==> building live-bank-$image"
    podman build --pull=never --isolation=chroot --network=host --format=docker --quiet \
        -f "$image/Dockerfile" -t "live-bank-$image" . > /dev/null
done

echo "==> the worker's image: its app imports, its data folder is writable"
run --rm live-bank-soi python -c "
import os, soi.app
os.makedirs(soi.app.app.conf.datadir, exist_ok=True)
assert os.access(soi.app.app.conf.datadir, os.W_OK), soi.app.app.conf.datadir
"

echo "==> the system of record's set-up, leaving the shared database as it is"
podman volume create "$prefix-sor-state" > /dev/null
podman volume create "$prefix-public-key" > /dev/null
run --rm -v "$prefix-sor-state:/var/lib/bank" -v "$prefix-public-key:/var/lib/bank-public" \
    -e BANK_DB_HOST=127.0.0.1 live-bank-sor bash -c '
        set -e
        python sor/manage.py migrate --check
        python sor/manage.py collectstatic --noinput > /dev/null
        python sor/manage.py ensure_live_token_keys
        cp /var/lib/bank/keys/live-token-ed25519.pub.pem /var/lib/bank-public/'

echo "==> starting the system of record (:$sor_port) and the gateway (:$soe_port)"
run --detach --name "$prefix-sor" -v "$prefix-sor-state:/var/lib/bank" \
    -e BANK_DB_HOST=127.0.0.1 live-bank-sor \
    python -m gunicorn sor.wsgi:application "--bind=127.0.0.1:$sor_port" --workers=2 > /dev/null
run --detach --name "$prefix-soe" -v "$prefix-public-key:/var/lib/bank/keys:ro" \
    -e BANK_KAFKA_BOOTSTRAP=127.0.0.1:9092 \
    -e "BANK_SOR_PUBLIC_URL=http://127.0.0.1:$sor_port" \
    -e "BANK_DASHBOARD_ORIGINS=http://127.0.0.1:$soe_port" \
    live-bank-soe python -m uvicorn soe.app:app --host=127.0.0.1 "--port=$soe_port" > /dev/null

echo "==> readiness, static files, a token from one container checked by the other"
"$python" - "$sor_port" "$soe_port" << 'EOF'
import asyncio
import json
import sys

import httpx
from tenacity import retry, stop_after_delay, wait_fixed
from websockets.asyncio.client import connect

from kernel.settings import DemoLogin

sor, soe = (f"http://127.0.0.1:{port}" for port in sys.argv[1:3])


@retry(stop=stop_after_delay(120), wait=wait_fixed(1), reraise=True)
def ready(url: str) -> None:
    httpx.get(url, timeout=4).raise_for_status()


async def live_feed_welcomes(token: str) -> dict:
    async with connect(soe.replace("http", "ws") + "/ws", origin=soe) as socket:
        await socket.send(json.dumps({"type": "auth", "token": token}))
        return json.loads(await asyncio.wait_for(socket.recv(), 10))


ready(f"{sor}/admin/login/")
ready(f"{soe}/ready")
httpx.get(f"{sor}/static/admin/css/base.css", timeout=4).raise_for_status()
httpx.get(f"{soe}/", timeout=4).raise_for_status()
answer = httpx.post(
    f"{sor}/api/auth/live-token/",
    json={"username": "demo", "password": DemoLogin.load().password},
    timeout=10,
)
answer.raise_for_status()
welcome = asyncio.run(live_feed_welcomes(answer.json()["token"]))
assert welcome["type"] == "welcome", welcome
print(f"the gateway welcomed {welcome['subject']!r} with a token the system of record minted")
EOF
echo "podman-smoke: the three images build and run"
