"""moto's server mode on 127.0.0.1 (STS, Cognito Identity, DynamoDB: an emulation
nobody here wrote). A test module takes the ``moto_url`` fixture by importing
``moto_url_fixture`` from here."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto.server import ThreadedMotoServer


@pytest.fixture(scope="module", name="moto_url")
def moto_url_fixture() -> Iterator[str]:
    """One moto server for the module, on an ephemeral loopback port."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
