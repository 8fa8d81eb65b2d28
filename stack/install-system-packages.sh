#!/usr/bin/env bash
# Installs the Debian packages the local stack needs, once. Idempotent: does nothing (quietly)
# when they are all present. Runs apt-get as root, or through sudo.
set -euo pipefail

packages=(
  mariadb-server mariadb-client   # the system of record's database (10.11 on Debian 12)
  libmariadb-dev pkg-config gcc   # to build mysqlclient, Django's MariaDB driver
  openjdk-17-jre-headless maven   # Kafka, Connect, the registry; Maven fetches their jars
  kcat                            # inspecting the JSON topics by hand
  chromium                        # the dashboard's browser tests (headless)
  haproxy                         # the balancer in front of the gateways (BANK_SOE_GATEWAYS)
  podman runc debootstrap         # the image smoke (compose/podman-smoke.sh): build and run
                                  # our images without Docker, on a base made locally
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
echo "==> installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -q
"${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
# The package may start a system-wide MariaDB on 3306; the stack runs its own, so stop that one.
if pgrep -x mariadbd >/dev/null && [ ! -S "${BANK_STATE_DIR:-.bank}/run/mariadb.sock" ]; then
  echo "==> stopping the system MariaDB service the package started (the stack runs its own)"
  "${as_root[@]}" service mariadb stop || true
fi
