#!/usr/bin/env bash
# Builds our images (the Dockerfile's targets) without Docker and without any registry, and runs
# them against the running local stack (`make up`): the proof, on a machine with no Docker engine,
# that the images build and run. tests/integration/compose/ runs it on every `make test`.
#
# The base image is made here: Debian bookworm by debootstrap from its default mirror, with
# Debian's Python 3.11 and its headers, imported into podman under the name the Dockerfile starts
# FROM. It is kept: in podman's storage, and as a tar in the state folder (.bank/podman/), so a
# clean clone makes it once. Then:
#   - each image holds its own service's packages and no other service's framework;
#   - the system of record's image runs the set-up steps that leave the shared database alone
#     (migrate --check, collectstatic, the live-feed keys and their publication), then gunicorn;
#   - the gateway's image runs with the public key volume mounted read-only and follows Kafka;
#   - a live-feed token minted by the first is accepted by the second over a websocket;
#   - the worker's image runs a worker on a scratch topic namespace of its own (its own CDC input,
#     consumer group and derived topics, deleted afterwards: it never joins the local worker's
#     group) and derives a balance change fed to it;
#   - the ops image's bankctl lists the local stack's topics.
# Ports, container, volume and image names derive from the local stack's ports (BANK_SOR_PORT...,
# moved by a checkout's env file), so two checkouts' smokes on one machine stay apart.
#
# Needs root and Debian's podman, runc and debootstrap (stack/install-system-packages.sh).
# Usage: compose/podman-smoke.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

state="${BANK_STATE_DIR:-.bank}"
work="$state/podman"
python=.venv/bin/python
# Beside the local stack's own ports: +500 stays in a checkout's range of ports.
sor_port=$((${BANK_SOR_PORT:-8000} + 500))
soe_port=$((${BANK_SOE_PORT:-8001} + 500))
soi_port=$((${BANK_SOI_WEB_PORT:-6066} + 500))
kafka="127.0.0.1:${BANK_KAFKA_PORT:-9092}"
registry="http://127.0.0.1:${BANK_REGISTRY_PORT:-8081}/apis/ccompat/v7"
tag="smoke-${BANK_SOR_PORT:-8000}"
prefix="live-bank-$tag"
namespace="smoke-soi-$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')"

# The base: what the Dockerfile starts FROM, and what makes it (a change remakes it).
base=python:3.11-slim-bookworm
base_packages=python3,python3-venv,python3-dev,python-is-python3,ca-certificates
# A TLS-inspecting proxy's authority, when this machine trusts one, so pip reaches its index.
proxy_certificates=(/usr/local/share/ca-certificates/*.crt)
[ -e "${proxy_certificates[0]}" ] || proxy_certificates=()
base_key=$( (echo "bookworm minbase $base_packages" && cat "${proxy_certificates[@]}" /dev/null) |
    sha256sum | cut -c1-12)

for tool in podman runc debootstrap; do
    command -v "$tool" > /dev/null || {
        echo "podman-smoke: $tool is missing; bash stack/install-system-packages.sh installs it" >&2
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
    podman rm --force --time 10 "$prefix-sor" "$prefix-soe" "$prefix-soi" > /dev/null 2>&1 || true
    podman volume rm --force "$prefix-sor-state" "$prefix-public-key" > /dev/null 2>&1 || true
    "$python" -c "
import sys
from bench.kafka_probe import delete_namespace
delete_namespace(sys.argv[1], sys.argv[2], [sys.argv[2] + '-derivation'])
" "$kafka" "$namespace" || echo "podman-smoke: could not delete the topics of $namespace" >&2
}

timed() {
    local started=$SECONDS
    "$@"
    echo "    ($((SECONDS - started))s)"
}

make_base() {
    local archive="$work/base-$base_key.tar"
    if [ ! -s "$archive" ]; then
        echo "==> making the base image: debootstrap bookworm into $work/rootfs"
        rm -rf "$work/rootfs" "$work"/base-*.tar
        mkdir -p "$work"
        debootstrap --variant=minbase --include="$base_packages" bookworm "$work/rootfs" \
            > "$work/debootstrap.log" || {
            tail -20 "$work/debootstrap.log" >&2
            exit 1
        }
        if [ ${#proxy_certificates[@]} -gt 0 ]; then
            cp "${proxy_certificates[@]}" "$work/rootfs/usr/local/share/ca-certificates/"
            chroot "$work/rootfs" update-ca-certificates > "$work/certificates.log" 2>&1
        fi
        rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
        tar -C "$work/rootfs" -cf "$archive.partial" .
        mv "$archive.partial" "$archive"
        rm -rf "$work/rootfs"
    fi
    echo "==> importing the base image from $archive"
    podman import --quiet --change "LABEL live-bank.base=$base_key" "$archive" "$base" > /dev/null
}

build() {
    local target=$1 image="live-bank-$1:$tag" previous
    previous=$(podman image inspect --format '{{.Id}}' "$image" 2> /dev/null || true)
    podman build --pull=never --isolation=chroot --network=host --format=docker --layers \
        --target "$target" -t "$image" . > "$work/build-$target.log" 2>&1 || {
        tail -40 "$work/build-$target.log" >&2
        exit 1
    }
    # The image this one replaces, so the storage does not grow with every run.
    if [ -n "$previous" ] && [ "$previous" != "$(podman image inspect --format '{{.Id}}' "$image")" ]; then
        podman rmi "$previous" > /dev/null 2>&1 || true
    fi
}

# Each image has its own service's packages: these imports must fail in it.
holds_none_of() {
    local target=$1
    shift
    run --rm "live-bank-$target:$tag" python -c "
import importlib.util, sys
found = [name for name in sys.argv[1:] if importlib.util.find_spec(name)]
sys.exit(f'the $target image holds {found}' if found else 0)
" "$@"
}

trap cleanup EXIT
cleanup
mkdir -p "$work"

if [ "$(podman image inspect --format '{{index .Labels "live-bank.base"}}' "$base" 2> /dev/null)" != "$base_key" ]; then
    timed make_base
fi

for target in sor soi soe ops; do
    echo "==> building live-bank-$target:$tag (target $target)"
    timed build "$target"
done

echo "==> each image holds its own service's packages alone"
holds_none_of sor fastapi uvicorn faust
holds_none_of soi django fastapi uvicorn
holds_none_of soe django faust MySQLdb
holds_none_of ops django fastapi faust

echo "==> the system of record's set-up, leaving the shared database as it is"
podman volume create "$prefix-sor-state" > /dev/null
podman volume create "$prefix-public-key" > /dev/null
run --rm -v "$prefix-sor-state:/var/lib/bank" -v "$prefix-public-key:/var/lib/bank-public" \
    -e BANK_DB_HOST=127.0.0.1 -e "BANK_DB_PORT=${BANK_DB_PORT:-3306}" "live-bank-sor:$tag" bash -c '
        set -e
        python sor/manage.py migrate --check
        python sor/manage.py collectstatic --noinput > /dev/null
        python sor/manage.py ensure_live_token_keys
        cp /var/lib/bank/keys/live-token-ed25519.pub.pem /var/lib/bank-public/'

echo "==> starting the system of record (:$sor_port), the gateway (:$soe_port) and a worker" \
    "on the scratch namespace $namespace (:$soi_port)"
run --detach --name "$prefix-sor" -v "$prefix-sor-state:/var/lib/bank" \
    -e BANK_DB_HOST=127.0.0.1 -e "BANK_DB_PORT=${BANK_DB_PORT:-3306}" "live-bank-sor:$tag" \
    python -m gunicorn sor.wsgi:application "--bind=127.0.0.1:$sor_port" --workers=2 > /dev/null
run --detach --name "$prefix-soe" -v "$prefix-public-key:/var/lib/bank/keys:ro" \
    -e "BANK_KAFKA_BOOTSTRAP=$kafka" -e "BANK_SCHEMA_REGISTRY_URL=$registry" \
    -e "BANK_SOR_PUBLIC_URL=http://127.0.0.1:$sor_port" \
    -e "BANK_DASHBOARD_ORIGINS=http://127.0.0.1:$soe_port" \
    "live-bank-soe:$tag" python -m soe --host=127.0.0.1 "--port=$soe_port" > /dev/null
run --detach --name "$prefix-soi" \
    -e "BANK_KAFKA_BOOTSTRAP=$kafka" -e "BANK_SCHEMA_REGISTRY_URL=$registry" \
    -e "BANK_TOPIC_NAMESPACE=$namespace" -e "BANK_CDC_TOPIC_PREFIX=$namespace" \
    "live-bank-soi:$tag" python -m faust -A soi.app worker --loglevel=info \
    --web-bind=127.0.0.1 --web-host=127.0.0.1 "--web-port=$soi_port" > /dev/null

echo "==> bankctl in the ops image lists the local stack's topics"
run --rm -e "BANK_KAFKA_BOOTSTRAP=$kafka" "live-bank-ops:$tag" python -m ops topics --json |
    "$python" -c "
import json, sys
names = {topic['name'] for topic in json.load(sys.stdin)}
assert 'sor.bank.money' in names, sorted(names)
print(f'    {len(names)} topics, sor.bank.money among them')
"

echo "==> readiness, static files, a token from one container checked by the other, a derivation"
if ! "$python" - "$sor_port" "$soe_port" "$soi_port" "$kafka" "$namespace" << 'EOF'; then
import asyncio
import json
import sys

import httpx
from confluent_kafka import Producer
from tenacity import retry, retry_if_result, stop_after_delay, wait_fixed
from websockets.asyncio.client import connect

from kernel.kafka_client import librdkafka
from kernel.settings import DemoLogin

sor, soe, soi = (f"http://127.0.0.1:{port}" for port in sys.argv[1:4])
kafka, namespace = sys.argv[4:6]


@retry(stop=stop_after_delay(180), wait=wait_fixed(1), reraise=True)
def ready(url: str) -> dict:
    answer = httpx.get(url, timeout=4)
    answer.raise_for_status()
    return answer.json() if "json" in answer.headers.get("content-type", "") else {}


async def live_feed_welcomes(token: str) -> dict:
    async with connect(soe.replace("http", "ws") + "/ws", origin=soe) as socket:
        await socket.send(json.dumps({"type": "auth", "token": token}))
        return json.loads(await asyncio.wait_for(socket.recv(), 10))


def deposit(account_id: int, before: int, after: int) -> bytes:
    """A balance update as Debezium writes it (an account row's before and after images)."""
    row = {"id": account_id, "iban": "NL05LIVE5551339279", "currency": "EUR", "customer_id": 2,
           "overdraft_limit": 0, "low_balance_threshold": None, "status": "open",
           "created_at": 1795460149990}
    source = {"connector": "mariadb", "name": "sor", "db": "bank", "table": "account",
              "server_id": 1, "file": "bank-bin.000001", "pos": 489879, "row": 0,
              "ts_ms": 1795460327000, "snapshot": "false", "gtid": "0-1-214"}
    return json.dumps({
        "before": {**row, "balance": before, "version": 3, "updated_at": 1795460171349},
        "after": {**row, "balance": after, "version": 4, "updated_at": 1795460327794},
        "source": source, "op": "u", "ts_ms": 1795460327798, "transaction": None,
    }).encode()


@retry(stop=stop_after_delay(60), wait=wait_fixed(1), retry=retry_if_result(lambda n: n < 1))
def balance_changes() -> int:
    return ready(f"{soi}/ready/").get("changes", 0)


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
print(f"    the gateway welcomed {welcome['subject']!r} with a token the system of record minted")

joined = ready(f"{soi}/ready/")
assert joined["ready"] and joined["partitions"], joined
producer = Producer(librdkafka(kafka))
producer.produce(f"{namespace}.bank.money", key=b'{"account_id":2}', value=deposit(2, 236010, 237244))
assert producer.flush(10) == 0, "the deposit was not written"
print(f"    the worker derived {balance_changes()} balance change on {namespace}")
EOF
    for name in sor soe soi; do
        echo "--- the last lines of $prefix-$name's log" >&2
        podman logs --tail 30 "$prefix-$name" >&2 || true
    done
    exit 1
fi
echo "podman-smoke: the images build and run"
