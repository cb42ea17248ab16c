from __future__ import annotations

import pytest

from runtime.graph import Graph
from tests.harness import graph


@pytest.fixture(scope="session")
def production() -> Graph:
    return graph("production")


@pytest.fixture(scope="session")
def staging() -> Graph:
    return graph("staging")
