"""The parser: every command of ``cognitosync-async``, its options and its help.

Each command's help is written for that command: an option shared by several
commands (``--concurrency``, ``--checkpoint``, ``--output``...) says what it
does in that one.
"""

from __future__ import annotations

import argparse
from typing import Any

from .._version import __version__
from .output import FORMATS, output_format, output_format_or_hint

PROG = "cognitosync-async"

DESCRIPTION = "Amazon Cognito Sync from the command line (and a local service to try it)."

EPILOG = """\
Run 'cognitosync-async COMMAND --help' for the options of a command.

output: the data commands print JSON by default (--output text: tab-separated
with a header line; --output table: aligned columns); the jobs print a report
(--output json: one JSON object). JSON fields come in a fixed order, a dataset's
values sorted by key. --json is --output json.

exit codes: 0 ok, 1 service/network error (or some items failed), 2 usage error,
3 conflict, 130 interrupted, 141 stdout closed early (e.g. piped to head).
"""

#: mkdocs's ``--help`` pages and the test of help texts go through these groups.
DATA_COMMANDS = ("datasets", "records", "get", "put", "delete")
JOB_COMMANDS = ("export", "import", "mirror", "verify", "demo")
LOCAL_COMMANDS = ("serve", "mint-credentials", "seed-pool", "seed-identity")


def _connection(p: argparse.ArgumentParser, calls: str = "call") -> None:
    g = p.add_argument_group("connection")
    g.add_argument("--endpoint-url", metavar="URL",
                   help="service URL (e.g. http://127.0.0.1:8910, a local service)")
    g.add_argument("--region", help="AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, or "
                   "the profile's region in the shared config file)")
    g.add_argument("--profile", help="profile of the shared credentials/config files (its keys "
                   "take precedence over AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)")
    g.add_argument("--max-attempts", type=int, default=None, metavar="N",
                   help=f"attempts per {calls} (default: AWS_MAX_ATTEMPTS, the profile's, or 5)")


def _output(p: argparse.ArgumentParser, default: str, what: str, writes_file: bool = False,
            ) -> None:
    """``--output FORMAT`` (and ``--json``, its short form) for one command."""
    g = p.add_argument_group("output")
    kind = output_format_or_hint if writes_file else output_format
    g.add_argument("--output", type=kind, choices=FORMATS, default=default,
                   metavar="|".join(FORMATS),
                   help=f"{what} (default: {default})")
    g.add_argument("--json", dest="output", action="store_const", const="json",
                   help="the same as --output json")


def _identity(p: argparse.ArgumentParser, dataset: bool) -> None:
    p.add_argument("--identity-pool-id", required=True, metavar="ID",
                   help="the identity pool (REGION:GUID)")
    p.add_argument("--identity-id", required=True, metavar="ID",
                   help="the identity (REGION:GUID) whose data this is")
    if dataset:
        p.add_argument("--dataset", required=True, help="dataset name")


def _policy(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--on-conflict",
        choices=("overwrite", "keep_remote"),
        default="overwrite",
        help=f"when another writer changed a key {what} meanwhile: our value wins "
        "(overwrite, default) or theirs stays (keep_remote)",
    )


def _identities(p: argparse.ArgumentParser, enumerate_what: str) -> None:
    p.add_argument("--identities", metavar="FILE",
                   help=f"identity ids, one a line ('-': stdin; blank lines and # comments "
                   f"skipped); without it, {enumerate_what}")
    p.add_argument("--identity-endpoint-url", metavar="URL",
                   help="Cognito Identity URL for enumerating the pool (default: "
                   "--endpoint-url)")


def _add(sub: Any, name: str, help: str, description: str | None = None,
         ) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        name, help=help, description=description or help[0].upper() + help[1:] + ".",
    )
    return p


def _data_parsers(sub: Any) -> None:
    p = _add(sub, "datasets", "list an identity's datasets")
    _identity(p, dataset=False)
    _connection(p)
    _output(p, "json", "json: a list of dataset objects; text/table: one row per dataset")

    p = _add(sub, "records", "list a dataset's records, tombstones included",
             "List a dataset's records, removed ones (tombstones) included: in JSON with "
             "\"value\": null, in text and table with the value (removed).")
    _identity(p, dataset=True)
    p.add_argument("--since", type=int, default=None, metavar="N",
                   help="only records changed after sync count N")
    _connection(p)
    _output(p, "json", "json: the dataset's sync count and its records; text/table: one row "
            "per record")

    p = _add(sub, "get", "print a dataset's live values (removed keys left out)")
    _identity(p, dataset=True)
    _connection(p)
    _output(p, "json", "json: an object of keys and values; text/table: KEY and VALUE "
            "columns, sorted by key")

    p = _add(sub, "put", "set and remove keys of a dataset",
             "Set and remove keys of a dataset, re-reading and retrying when another "
             "writer got there first (up to --max-rounds).")
    _identity(p, dataset=True)
    p.add_argument("pairs", nargs="*", metavar="KEY=VALUE", help="set KEY to VALUE")
    p.add_argument("--set", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"),
                   help="set KEY to VALUE (for keys containing '=')")
    p.add_argument("--remove", action="append", default=[], metavar="KEY", help="remove KEY")
    p.add_argument("--max-rounds", type=int, default=5, metavar="N",
                   help="read-write rounds before giving up on a conflict (default 5)")
    _policy(p, "of this put")
    _connection(p)
    _output(p, "json", "json: the keys written and unchanged, the sync count, the conflicts; "
            "text: one sentence")

    p = _add(sub, "delete", "delete a dataset")
    _identity(p, dataset=True)
    _connection(p)
    _output(p, "json", "json: the deleted dataset's metadata; text: one sentence")


def _job_parsers(sub: Any) -> None:
    p = _add(
        sub, "export", "export identities' datasets to JSON Lines",
        "Export every dataset of the given identities, one JSON object per dataset per "
        "line. With --checkpoint, an interrupted export resumes where it stopped when the "
        "same command is run again, with every dataset exactly once in the output.",
    )
    p.add_argument("--identity-pool-id", required=True, metavar="ID",
                   help="the identity pool to export from")
    _identities(p, "the pool's identities are listed through Cognito Identity")
    p.add_argument("--outfile", "-o", metavar="FILE",
                   help="where the JSON Lines go (default: stdout; the summary then goes "
                   "to stderr)")
    p.add_argument("--checkpoint", metavar="FILE",
                   help="checkpoint file: run the same command again to resume (needs "
                   "--outfile)")
    _pace(p, "identities exported", "cap on identities started a second")
    _connection(p)
    _output(p, "text", "format of the summary", writes_file=True)

    p = _add(
        sub, "import", "import JSON Lines (an export) into a pool",
        "Write each line's records back with the conflict policy of put (removed "
        "records, value null, are removed). With --checkpoint, an interrupted import "
        "resumes when the same command is run again.",
    )
    p.add_argument("--input", "-i", metavar="FILE", default="-",
                   help="the export's JSON Lines (default '-': stdin)")
    p.add_argument("--identity-pool-id", metavar="ID",
                   help="write into this pool instead of each line's")
    _policy(p, "of a line")
    p.add_argument("--checkpoint", metavar="FILE",
                   help="checkpoint file: run the same command again to resume (lines "
                   "already applied are skipped, by content)")
    _pace(p, "lines (datasets) written", "cap on lines started a second")
    _connection(p)
    _output(p, "text", "format of the summary")

    targets = "sqlite:PATH (created if missing) or dynamodb:TABLE (the dynamodb extra)"
    p = _add(
        sub, "mirror", "copy a pool into a target, then keep it current",
        "Make TARGET equal to the pool as read in this run: the first run copies "
        "everything, later runs read only datasets that changed (from the target's cursor). "
        "Stopped at any point, the same command converges when run again. --shard K/N "
        "mirrors only shard K of N (run N at once, e.g. a job array).",
    )
    p.add_argument("--identity-pool-id", required=True, metavar="ID",
                   help="the identity pool to copy")
    p.add_argument("--target", required=True, help=targets)
    _identities(p, "Cognito Identity ListIdentities")
    p.add_argument("--shard", metavar="K/N", help="only the identities of shard K of N")
    p.add_argument("--create-table", action="store_true",
                   help="dynamodb: create the table (on-demand billing) if missing")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local (this process, default) or ray (--shards actors on a cluster)")
    p.add_argument("--shards", type=int, default=None, metavar="N",
                   help="ray: number of shards")
    p.add_argument("--ray-address", metavar="ADDR",
                   help="ray: cluster address (default: a local one)")
    _pace(p, "identities mirrored", "cap on calls this process starts a second (divide a "
          "pool's budget by the number of shards running at once)")
    _connection(p)
    _output(p, "text", "format of the summary")

    p = _add(
        sub, "verify", "compare a pool with its mirror (exit 1 on a difference)",
        "Read both sides afresh (the source from sync count 0) and compare every "
        "dataset's records (key, value or tombstone, sync count) and dataset sync counts. "
        "Exit 0 when identical, 1 with the first differences listed and counted.",
    )
    p.add_argument("--identity-pool-id", required=True, metavar="ID",
                   help="the identity pool the target copies")
    p.add_argument("--target", required=True,
                   help="the copy to compare: sqlite:PATH or dynamodb:TABLE (must exist)")
    _identities(p, "Cognito Identity ListIdentities")
    p.add_argument("--shard", metavar="K/N", help="only the identities of shard K of N")
    _pace(p, "identities compared", "cap on calls started a second", progress=False)
    _connection(p)
    _output(p, "text", "format of the report")

    p = _add(
        sub, "demo", "play a realistic job against a local service (no setup needed)",
        "Starts the local service in-process on a temporary SQLite file "
        "(removed at the end), with throttling on, and runs a job: concurrent writes for a "
        "few hundred identities, paging them back, a conflict resolved, an export to JSON "
        "Lines (kept), a mirror and its verification, and a report. Needs no credentials, "
        "region or endpoint.",
    )
    p.add_argument("--identities", type=int, default=200, metavar="N",
                   help="identities to write (200)")
    p.add_argument("--concurrency", type=int, default=32, metavar="N",
                   help="identities written, read and exported at once (32)")
    p.add_argument("--throttle-rate", type=float, default=250.0, metavar="R",
                   help="the local service's requests/s before it answers 429 (250)")
    p.add_argument("--outfile", "-o", metavar="FILE",
                   help="where the export goes (default: a new temporary directory)")
    _output(p, "text", "format of the report", writes_file=True)


def _local_parsers(sub: Any) -> None:
    p = _add(
        sub, "serve", "run the local Cognito Sync service",
        "Run the local Cognito Sync service until SIGINT/SIGTERM; print its endpoint URL "
        "and the developer credentials it accepts. The fault options inject throttling, "
        "errors, dropped connections, latency and scripted answers into every request.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=8910, help="0 picks a free port (default 8910)")
    p.add_argument("--db", metavar="FILE", default=None, help="SQLite file (default: in memory)")
    p.add_argument("--access-key-id", metavar="ID",
                   help="the developer access key it accepts (default: AKIDLOCALDEVELOPER)")
    p.add_argument("--secret-access-key", metavar="KEY",
                   help="the secret of that key (default: local-developer-secret)")
    p.add_argument("--region", help="the region requests are signed for (default: us-east-1)")
    p.add_argument("--strict", action="store_true",
                   help="unknown pools/identities are 404 (default: created on first use)")
    p.add_argument("--sync-session-ttl", type=float, default=900.0, metavar="S",
                   help="seconds a sync session token stays valid (900)")
    p.add_argument("--bulk-publish-delay", type=float, default=0.0, metavar="S",
                   help="seconds a bulk publish takes to complete (0)")
    p.add_argument("--json", action="store_true",
                   help="print the endpoint, credentials and faults as one JSON line")
    g = p.add_argument_group("faults")
    g.add_argument("--throttle-rate", type=float, default=None, metavar="R",
                   help="requests/s per pool and per identity before 429 (default: none)")
    g.add_argument("--throttle-burst", type=int, default=10, metavar="N",
                   help="requests allowed at once before the rate applies (10)")
    g.add_argument("--error-rate", type=float, default=0.0, metavar="F",
                   help="fraction of requests answered 500 InternalErrorException (0-1)")
    g.add_argument("--drop-rate", type=float, default=0.0, metavar="F",
                   help="fraction of requests whose connection is reset unanswered (0-1)")
    g.add_argument("--latency", type=float, default=0.0, metavar="S",
                   help="seconds added to every request")
    g.add_argument("--fault-script", metavar="FILE",
                   help="answers to the next requests, one a line: an HTTP status (429), an "
                   "error code (ConcurrentModificationException), drop or ok")
    g.add_argument("--fault-seed", type=int, default=None, metavar="N",
                   help="seed of the random error and drop rates (repeatable runs)")

    p = _add(
        sub, "mint-credentials", "mint identity credentials on a 'serve --db' file",
        "Mint credentials bound to one identity in the SQLite file of a local service and "
        "print them as credential_process JSON (Version, AccessKeyId, SecretAccessKey, "
        "SessionToken, Expiration).",
    )
    _local_admin(p, identity=True)
    p.add_argument("--ttl", type=float, default=3600.0, metavar="S",
                   help="seconds until they expire (3600)")
    p.add_argument("--strict", action="store_true", help="the pool and identity must exist")

    p = _add(sub, "seed-pool", "create an identity pool in a 'serve --db' file",
             "Create an identity pool in the SQLite file of a local service (for a service "
             "started in strict mode, where unknown pools are 404).")
    _local_admin(p, identity=False)

    p = _add(sub, "seed-identity", "create an identity (and its pool) in a 'serve --db' file",
             "Create an identity, and its pool if new, in the SQLite file of a local service "
             "(for a service started in strict mode, where unknown identities are 404).")
    _local_admin(p, identity=True)


def _pace(p: argparse.ArgumentParser, at_once: str, rate: str, progress: bool = True) -> None:
    """A job's --concurrency (default 8) and --rate, and --quiet when it shows a progress
    bar; ``at_once`` says what --concurrency counts, ``rate`` is --rate's help."""
    p.add_argument("--concurrency", type=int, default=8, metavar="N",
                   help=f"{at_once} at once (default 8)")
    p.add_argument("--rate", type=float, default=None, metavar="R", help=rate)
    if progress:
        p.add_argument("--quiet", action="store_true", help="no progress bar")


def _local_admin(p: argparse.ArgumentParser, identity: bool) -> None:
    p.add_argument("--db", required=True, metavar="FILE",
                   help="the SQLite file a 'serve --db' uses")
    p.add_argument("--identity-pool-id", required=True, metavar="ID",
                   help="the identity pool (REGION:GUID)")
    if identity:
        p.add_argument("--identity-id", required=True, metavar="ID",
                       help="the identity (REGION:GUID)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _data_parsers(sub)
    _job_parsers(sub)
    _local_parsers(sub)
    return parser
