"""Benchmarks for cognitosync_async: ``python -m benchmarks`` (see README.md).

Modules:

* ``_data``   -- the identifiers and canned payloads every part shares;
* ``_canned`` -- a canned-response Cognito Sync server (asyncio.Protocol,
  HTTP/1.1 keep-alive) run in its own process;
* ``_local``  -- the local service (``LocalCognitoSync``) run in its own process;
* ``_floor``  -- the floor client: aiohttp + the thinnest honest SigV4 + json.loads;
* ``_drivers``-- the same scenarios written for the SDK, aiobotocore and the floor;
* ``_worker`` -- one client kept alive in its own process, driven over a pipe;
* ``_runner`` -- interleaved slices, paired ratios, the table;
* ``_memory`` -- RSS growth over 100,000 paginated records;
* ``_soak``   -- 20,000 calls at concurrency 256 against a throttling local service.
"""
