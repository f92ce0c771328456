"""Helpers for the test suite, by kind (fixtures are in ``tests/conftest.py``):

- ``httpserver``: a scripted ``aiohttp.web`` server on 127.0.0.1 and the shared test
  constants (``POOL``, ``IDENTITY``, ``CREDS``, ``FAST`` client options);
- ``rawserver``: a misbehaving HTTP server on raw asyncio streams;
- ``local_service``: botocore callers and hand-signed requests for the local service;
- ``cli``: running the command line in a subprocess against the local service;
- ``mirror``: seeding and reading for the mirror/verify tests;
- ``examples``: running the Python blocks of a Markdown page.
- ``credential_servers``: loopback STS, container, IMDSv2 and SSO endpoints;
- ``extras``: ``need(module, extra)``, skipping (or, in CI, failing) without an extra.
"""
