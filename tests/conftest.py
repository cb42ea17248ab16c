from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.graph import Graph
from tests.harness import graph, use_fake_aws
from tests.servers import Running, serve_process


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


@pytest.fixture
def fake_aws_eu(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region eu-west-1, no endpoint: tests that ask pass moto's (`moto_url`) explicitly."""
    use_fake_aws(monkeypatch, "eu-west-1")


# Scoring servers of tests/servers.py (each in its own process), one per test module that asks -----------------
@pytest.fixture(scope="module")
def healthy() -> Iterator[Running]:
    with serve_process("correct") as running:
        yield running


@pytest.fixture(scope="module")
def twin() -> Iterator[Running]:
    """A second healthy server (the same answers as `healthy`)."""
    with serve_process("correct") as running:
        yield running


@pytest.fixture(scope="module")
def flaky() -> Iterator[Running]:
    with serve_process("flaky-5xx") as running:
        yield running


@pytest.fixture(scope="module")
def sample_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Labelled rows the test servers accept; the label is what they predict (0.5), so quality is 1.0."""
    from tests.probe_support import labelled_sample

    return labelled_sample(tmp_path_factory.mktemp("probe") / "sample.csv")
