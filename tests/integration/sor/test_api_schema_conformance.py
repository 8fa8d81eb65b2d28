"""Schemathesis over the API's own OpenAPI schema, in-process against the Django app: whatever it
sends, the API answers no 5xx and no status code the schema does not document. Bounded: a few
examples per operation, so the whole run stays well under a minute."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from sor.wsgi import application

pytestmark = [pytest.mark.database, pytest.mark.timeout(240)]

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
CHECKS = [not_a_server_error, status_code_conformance]


@pytest.fixture
def in_test_transaction(db) -> Iterator[None]:
    """Requests share the test's database connection, as with Django's test client: a WSGI
    request would otherwise close it when it finishes."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def clerk_token(in_test_transaction) -> str:
    clerk = User.objects.create_superuser("schema-clerk", "schema@bank.test", "schema-password")
    return Token.objects.create(user=clerk).key


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
def test_every_answer_is_documented_and_none_is_a_server_error(case, clerk_token):
    case.call_and_validate(headers={"Authorization": f"Token {clerk_token}"}, checks=CHECKS)
