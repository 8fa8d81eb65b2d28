#!/usr/bin/env bash
# The compose stack's one-shot set-up of the system of record, run by the `sor-setup` service
# once the connector runs. The same steps, in the same order, as the local supervisor's
# start_all (stack/supervisor.py); each is idempotent, so `docker compose up` can run it again.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

manage() {
    echo "==> manage.py $*"
    python sor/manage.py "$@"
}

manage migrate --noinput
manage collectstatic --noinput
manage ensure_clerk
manage ensure_live_token_keys
echo "==> populate-db.sh"
./populate-db.sh

# The gateway gets the public half of the live-feed key pair only, through its own read-only
# volume: it can check a token but never mint one. With BANK_LIVE_TOKEN_PRIVATE_KEY set there is
# no key file; give the gateway BANK_LIVE_TOKEN_PUBLIC_KEY instead.
key_name=live-token-ed25519.pub.pem
public_key="${BANK_STATE_DIR:?BANK_STATE_DIR must be set}/keys/$key_name"
published="${BANK_LIVE_TOKEN_PUBLIC_DIR:?BANK_LIVE_TOKEN_PUBLIC_DIR must be set}/$key_name"
if [[ -f "$public_key" ]]; then
    # Copied beside, then renamed: the gateway never reads half a key.
    cp "$public_key" "$published.partial"
    mv -f "$published.partial" "$published"
    echo "==> live-feed public key published as $published"
fi
