#!/usr/bin/env bash
# Seeds the system of record with realistic demo customers and accounts, and the `demo` customer.
# Safe to run again: only what is missing is created.
#
# Usage: ./populate-db.sh [CUSTOMERS]    (default: $BANK_SEED_CUSTOMERS, else 100)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

customers="${1:-${BANK_SEED_CUSTOMERS:-100}}"
if [[ ! "$customers" =~ ^[0-9]+$ ]]; then
    echo "populate-db.sh: the number of customers must be a whole number, not '$customers'" >&2
    exit 2
fi

# The project's virtualenv on a developer's machine; the image's python in a container.
python=python
if [[ -x .venv/bin/python ]]; then
    python=.venv/bin/python
fi

exec "$python" sor/manage.py populate_bank --customers "$customers"
