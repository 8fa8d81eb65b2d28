"""A component frozen for 10 s (SIGSTOP, then SIGCONT) under load: the same checks as a kill."""

from __future__ import annotations

import pytest

from bench.chaos.faults import Fault
from bench.chaos.report import summary

pytestmark = [pytest.mark.integration, pytest.mark.chaos]


@pytest.mark.parametrize("component", ["soi", "soe"])
def test_a_component_frozen_under_load_loses_duplicates_and_misshows_nothing(drill, component):
    result = drill(Fault("freeze", component))
    assert result.ok, summary(result)
