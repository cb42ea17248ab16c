from __future__ import annotations

from collections.abc import Iterator

import pytest

from runtime.graph import Graph
from tests.harness import graph


@pytest.fixture(scope="session")
def production() -> Graph:
    return graph("production")


@pytest.fixture(scope="session")
def staging() -> Graph:
    return graph("staging")


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    """A real moto server (the AWS API) on a free loopback port, one per test module."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()
