# The bank's own images, one target per service, built from the repository's root:
#   docker build --target sor -t live-bank-sor .    (the system of record: Django under gunicorn,
#                                                     and the compose one-shots)
#   docker build --target soi -t live-bank-soi .    (the system of integration: the Faust worker)
#   docker build --target soe -t live-bank-soe .    (the system of engagement: the live-feed gateway
#                                                     and the customer dashboard)
#   docker build --target ops -t live-bank-ops .    (the ops CLI: docker run --rm --network=host
#                                                     live-bank-ops python -m ops topics)
# Each target installs pyproject.toml's dependencies and its own service's extra alone: the
# gateway's image has no Django, the worker's no FastAPI (tests/unit/compose/test_image_groups.py).
# docker-compose.yml builds the first three; compose/podman-smoke.sh builds and runs them on every
# `make test`.

FROM python:3.11-slim-bookworm AS builder

# mysqlclient compiles against MariaDB's client library; the tool chain stays in these stages.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install --yes --no-install-recommends build-essential pkg-config libmariadb-dev \
    && rm -rf /var/lib/apt/lists/*

# The pinned requirements of one service: the very pins the local stack installs. pip's cache is
# a build cache shared by the four, so a package is downloaded (and mysqlclient compiled) once.
COPY pyproject.toml compose/image_requirements.py /build/

FROM builder AS sor-packages
RUN --mount=type=cache,target=/root/.cache/pip \
    python /build/image_requirements.py /build/pyproject.toml sor > /build/requirements.txt \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install --requirement /build/requirements.txt

FROM builder AS soi-packages
RUN --mount=type=cache,target=/root/.cache/pip \
    python /build/image_requirements.py /build/pyproject.toml soi > /build/requirements.txt \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install --requirement /build/requirements.txt

FROM builder AS soe-packages
RUN --mount=type=cache,target=/root/.cache/pip \
    python /build/image_requirements.py /build/pyproject.toml soe > /build/requirements.txt \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install --requirement /build/requirements.txt

FROM builder AS ops-packages
RUN --mount=type=cache,target=/root/.cache/pip \
    python /build/image_requirements.py /build/pyproject.toml ops > /build/requirements.txt \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install --requirement /build/requirements.txt

# What every service's image shares: its user and the state folder. The code comes last in each
# target, so a change to it rebuilds only those layers.
FROM python:3.11-slim-bookworm AS runtime

# /var/lib/bank is the state folder (keys/, static/, cache/, data/soi/); compose mounts a volume.
RUN groupadd --gid 10001 bank \
    && useradd --uid 10001 --gid bank --home-dir /var/lib/bank --no-create-home bank \
    && install --directory --owner=bank --group=bank /var/lib/bank

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BANK_HOST=0.0.0.0 \
    BANK_STATE_DIR=/var/lib/bank

WORKDIR /app

# The system of record. The compose stack's one-shots (registering the connector, migrations, the
# clerk, the live-feed keys, seed data) run in this image too; the set-up publishes the live-feed
# public key for the gateway in /var/lib/bank-public.
FROM runtime AS sor

# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install --yes --no-install-recommends libmariadb3 \
    && rm -rf /var/lib/apt/lists/* \
    && install --directory --owner=bank --group=bank /var/lib/bank-public

COPY --from=sor-packages /opt/venv /opt/venv
ENV DJANGO_SETTINGS_MODULE=sor.settings
COPY kernel/ kernel/
COPY events/ events/
COPY sor/ sor/
# compose/register_connector.py runs the local runner's connector step.
COPY stack/__init__.py stack/connector.py stack/
COPY connect/sor-connector.json connect/
COPY populate-db.sh ./
COPY compose/sor-setup.sh compose/register_connector.py compose/

USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=6 \
    CMD ["python", "-c", "import sys, urllib.request as u; sys.exit(u.urlopen('http://127.0.0.1:8000/admin/login/', timeout=4).status != 200)"]
CMD ["python", "-m", "gunicorn", "sor.wsgi:application", "--bind=0.0.0.0:8000", "--workers=2", "--threads=4", "--access-logfile=-", "--capture-output"]

# The system of integration: the Faust worker deriving balance events from the CDC topics. It
# keeps its Faust data in the state folder (data/soi/).
FROM runtime AS soi

# Faust makes its data folder but not the folders above it.
RUN install --directory --owner=bank --group=bank /var/lib/bank/data

COPY --from=soi-packages /opt/venv /opt/venv
COPY kernel/ kernel/
COPY events/ events/
COPY soi/ soi/

USER 10001:10001
EXPOSE 6066
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=6 \
    CMD ["python", "-c", "import sys, urllib.request as u; sys.exit(u.urlopen('http://127.0.0.1:6066/ready/', timeout=4).status != 200)"]
CMD ["python", "-m", "faust", "-A", "soi.app", "worker", "--loglevel=info", "--web-bind=0.0.0.0", "--web-host=0.0.0.0", "--web-port=6066"]

# The system of engagement: the live-feed gateway and the customer dashboard (soe/static/). keys/
# is where it looks for the live-feed public key; compose mounts it read-only.
FROM runtime AS soe

RUN install --directory --owner=bank --group=bank /var/lib/bank/keys

COPY --from=soe-packages /opt/venv /opt/venv
COPY kernel/ kernel/
COPY events/ events/
COPY soe/ soe/

USER 10001:10001
EXPOSE 8001
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=6 \
    CMD ["python", "-c", "import sys, urllib.request as u; sys.exit(u.urlopen('http://127.0.0.1:8001/ready', timeout=4).status != 200)"]
CMD ["python", "-m", "soe", "--host=0.0.0.0", "--port=8001"]

# The ops CLI, bankctl (`python -m ops <command>`), for a host or a cluster without a checkout. It
# reads the ledger check of the system of record (sor/bank/ledger_check.py, no Django) and the
# connector's definition.
FROM runtime AS ops

# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install --yes --no-install-recommends libmariadb3 \
    && rm -rf /var/lib/apt/lists/*

COPY --from=ops-packages /opt/venv /opt/venv
COPY kernel/ kernel/
COPY events/ events/
COPY sor/__init__.py sor/
COPY sor/bank/__init__.py sor/bank/ledger_check.py sor/bank/
COPY connect/sor-connector.json connect/
COPY ops/ ops/

USER 10001:10001
CMD ["python", "-m", "ops", "--help"]
