"""The `erp-sync` command line: serve, scheduler, run, db, integrations, sandbox.

Exit codes scripts can trust: 0 success, 1 the run or command failed (an unreachable database included), 2 wrong
usage or configuration (a database schema behind this version included), 3 a sync was already in progress,
130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeAlias

from erp_sync.demo import DEMO_NAME
from erp_sync.domain.run import Trigger
from erp_sync.errors import ErpSyncError
from erp_sync.log_format import formatter as log_format_of
from erp_sync.settings import ConfigurationError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BUSY, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def _configure_logging(level: str, log_format: str = "text") -> None:
    """One line per event on stderr, text or JSON (ERP_SYNC_LOG_FORMAT), tagged [CRON]/[SYNC] (erp_sync.log_format)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(log_format_of(log_format))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler.executors", "waitress.queue", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _settings() -> Any:
    from erp_sync.settings import load_settings

    settings = load_settings()
    _configure_logging(settings.log_level, settings.operations.log_format)
    for path in settings.generated:
        print(f"erp-sync: generated a development secret in {path}", file=sys.stderr)
    return settings


def _build(settings: Any, *, with_scheduler: bool | None = None, migrate: bool = False) -> Any:
    from erp_sync.bootstrap import build, settle_long_lived_objects
    from erp_sync.db.migrate import check_current, upgrade

    if migrate:
        upgrade(settings.database_url)
    else:
        check_current(settings.database_url)
    app = build(settings, with_scheduler=with_scheduler)
    settle_long_lived_objects()
    return app


def _start_sandbox(app: Any, port: int) -> None:
    from erp_sync.demo import ensure_demo_integration, start_demo_activity, start_first_demo_run
    from erp_sync.sandbox import SandboxConfig, start_in_thread

    app.sandbox = start_in_thread(SandboxConfig(customers=2000, items=300), port=port)
    start_first_demo_run(app, ensure_demo_integration(app, app.sandbox.url))
    start_demo_activity(app.sandbox, app.stopping)
    print(f"erp-sync: SoftOne sandbox at {app.sandbox.url} (user demo / password demo)", file=sys.stderr)


def _stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM and SIGINT set `stop`, through a helper thread. A handler runs in the main thread between two
    bytecodes, possibly while that thread holds `stop`'s lock (in `stop.wait()`, or in a first handler's
    `stop.set()` when a second signal follows, as with Ctrl-C on `make serve`); taking the lock there would wait
    for itself forever. So the handler only writes a byte to a pipe."""
    read_end, write_end = os.pipe()

    def relay() -> None:
        os.read(read_end, 1)
        stop.set()

    threading.Thread(target=relay, name="erp-sync-signals", daemon=True).start()

    def handler(signum: int, _frame: Any) -> None:
        os.write(write_end, b"\0")

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _serve_until_signalled(app: Any, announce: str) -> None:
    """Start the scheduler, wait for SIGTERM/SIGINT, then stop: no new runs, running pages commit, leases freed."""
    stop = threading.Event()
    _stop_on_signals(stop)
    app.start_scheduler()
    print(announce, file=sys.stderr)
    stop.wait()
    print("erp-sync: stopping: no new runs; running pages commit, leases are released", file=sys.stderr)
    app.close()


def cmd_serve(args: argparse.Namespace) -> int:
    from erp_sync.web.app import create_app
    from erp_sync.web.http_server import create_http_server

    _check_host(args.host)
    settings = _settings()
    app = _build(settings, migrate=settings.is_sqlite or args.migrate)
    if settings.sandbox_enabled:
        _start_sandbox(app, args.sandbox_port)  # a sandbox port in use: werkzeug says so and exits with 1
    try:
        server = create_http_server(create_app(app), host=args.host, port=args.port, threads=args.threads)
    except OSError as exc:
        app.close()
        print(f"erp-sync: cannot listen on {args.host}:{args.port} ({exc.strerror or exc}); stop the process that "
              "holds the port or choose another with --port", file=sys.stderr)
        return EXIT_FAILED
    threading.Thread(target=server.run, name="http", daemon=True).start()
    token_file = settings.instance_dir / "api-token"
    token_hint = token_file if token_file.exists() else "ERP_SYNC_API_TOKEN"
    _serve_until_signalled(app, f"erp-sync: serving http://{args.host}:{server.effective_port} (scheduler "
                                f"{'on' if app.scheduler else 'off'}; admin token in {token_hint})")
    server.close()
    return EXIT_OK


def cmd_scheduler(args: argparse.Namespace) -> int:
    settings = _settings()
    app = _build(settings, with_scheduler=True)
    _serve_until_signalled(app, "erp-sync: scheduler running (no HTTP); Ctrl-C or SIGTERM stops it")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings()
    app = _build(settings, with_scheduler=False)
    stop = app.stopping
    _stop_on_signals(stop)
    started = time.monotonic()

    def progress(stats: Any) -> None:
        print(f"  page {stats.pages}: {stats.fetched} rows read, {stats.inserted} inserted, "
              f"{stats.updated} updated, {stats.unchanged} unchanged, {stats.errors} errors", file=sys.stderr)

    try:
        record = app.integrations.get(args.integration_id)
        print(f"erp-sync: running integration {record.id} ({record.spec.name})"
              f"{' full' if args.full else ''}{' dry-run' if args.dry_run else ''}", file=sys.stderr)
        outcome = app.runner.run(args.integration_id, Trigger.CLI, full=args.full, dry_run=args.dry_run,
                                 progress=progress)
        interrupted = stop.is_set()
    finally:
        app.close()
    s = outcome.stats
    print(f"run {outcome.run_id}: {outcome.status} in {time.monotonic() - started:.1f}s: {s.pages} pages, "
          f"{s.fetched} read, {s.inserted} inserted, {s.updated} updated, {s.unchanged} unchanged, "
          f"{s.deleted} deleted, {s.pushed} pushed, {s.conflicts} conflicts, {s.errors} errors")
    if outcome.error_message:
        print(f"error {outcome.error_code}: {outcome.error_message}", file=sys.stderr)
    if outcome.error_code == "ERP_UNAVAILABLE" and record.spec.name == DEMO_NAME:
        print("erp-sync: the demo integration reads the SoftOne sandbox that `erp-sync serve` (make serve) runs "
              "beside the API; start it, then run again", file=sys.stderr)
    if outcome.details.get("dryRun"):
        print(json.dumps(outcome.details["dryRun"]))
    if outcome.error_code == "SYNC_IN_PROGRESS":
        return EXIT_BUSY
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if outcome.ok else EXIT_FAILED


def cmd_db(args: argparse.Namespace) -> int:
    from erp_sync.db.migrate import current, upgrade

    settings = _settings()
    if args.db_command == "upgrade":
        upgrade(settings.database_url, args.revision)
        print(f"database at revision {current(settings.database_url)}")
    elif args.db_command == "current":
        print(current(settings.database_url) or "empty (run: erp-sync db upgrade)")
    elif args.db_command == "rotate-keys":
        app = _build(settings, with_scheduler=False)
        print(f"re-encrypted {app.repository.rotate_keys()} stored passwords with the first key")
        app.close()
    return EXIT_OK


def cmd_integrations(args: argparse.Namespace) -> int:
    settings = _settings()
    app = _build(settings, with_scheduler=False)
    try:
        if args.int_command == "list":
            for r in app.integrations.list():
                print(f"{r.id:>4}  {'active ' if r.spec.is_active else 'paused '} {r.spec.name:<30} "
                      f"{r.spec.schedule.cron_expression:<15} {r.spec.schedule.timezone:<20} "
                      f"last: {r.last_status or '-'} {r.last_sync_at.isoformat() if r.last_sync_at else ''}")
        elif args.int_command == "show":
            print(json.dumps(app.integrations.get(args.integration_id).spec.public_dict(), indent=2,
                             ensure_ascii=False))
        elif args.int_command == "create":
            data = json.loads(Path(args.file).read_text(encoding="utf-8"))
            record = app.integrations.create(data)
            print(f"created integration {record.id} ({record.spec.name})")
        elif args.int_command == "delete":
            app.integrations.delete(args.integration_id)
            print(f"deleted integration {args.integration_id}")
        elif args.int_command in {"activate", "deactivate"}:
            app.integrations.set_active(args.integration_id, args.int_command == "activate")
            print(f"integration {args.integration_id} {args.int_command}d")
    finally:
        app.close()
    return EXIT_OK


def cmd_sandbox(args: argparse.Namespace) -> int:
    from erp_sync.sandbox import SandboxConfig, serve

    _configure_logging("INFO")
    if args.soap:
        return _soap_sandbox(args)
    print(f"erp-sync: SoftOne sandbox on http://{args.host}:{args.port}/s1services with {args.rows} customers "
          f"(seed {args.seed}; user demo / password demo, appId 1001)", file=sys.stderr)
    serve(SandboxConfig(seed=args.seed, customers=args.rows), args.host, args.port)
    return EXIT_OK


def _soap_sandbox(args: argparse.Namespace) -> int:
    from erp_sync.sandbox.soap import SoapSandboxConfig, serve_soap

    print(f"erp-sync: SOAP sandbox (NAV page services) on http://{args.host}:{args.port}/WS/CRONUS/Page/Customer "
          f"and /Page/Item with {args.rows} customers (seed {args.seed}; user demo / password demo, basic auth)",
          file=sys.stderr)
    serve_soap(SoapSandboxConfig(seed=args.seed, customers=args.rows), args.host, args.port)
    return EXIT_OK


def _whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type for a whole number in [low, high]: out of range is wrong usage (exit 2), said plainly,
    instead of a server that listens on another port or never answers."""
    allowed = f"from {low} to {high}" if high is not None else f"of at least {low}"

    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be a whole number {allowed} (got {raw})")
        return value

    return parse


def _check_host(host: str) -> None:
    """CONFIGURATION_ERROR unless `host` is an address or name this machine can resolve to listen on."""
    try:
        socket.getaddrinfo(host, None, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as exc:
        raise ConfigurationError(f"--host {host!r} is not an address to listen on ({exc.args[-1]}); use an IP "
                                 "address of this machine such as 127.0.0.1 or 0.0.0.0, or a name that resolves "
                                 "to one", field="--host") from None


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="erp-sync", description="ERP integration engine: scheduled, incremental, "
                                   "two-way sync between SoftOne (Soft1) and your database. Configuration comes "
                                   "from ERP_SYNC_* environment variables (see README).",
                                   epilog="Exit codes: 0 success; 1 the run or command failed (a database that "
                                   "cannot be reached included); 2 wrong usage or configuration (a database schema "
                                   "behind this version included: run `erp-sync db upgrade`); 3 a sync of that "
                                   "integration was already in progress; 130 interrupted.")
    sub = root.add_subparsers(dest="command", required=True)
    for add_command in (_serve_parser, _scheduler_parser, _run_parser, _db_parser, _integrations_parser,
                        _sandbox_parser):
        add_command(sub)
    return root


Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"  # what add_subparsers returns


def _serve_parser(sub: Commands) -> None:
    serve = sub.add_parser("serve", help="HTTP API + scheduler (+ the SoftOne sandbox on the embedded default)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=_whole_number(1, 65535), default=8000, help="port to listen on (default 8000)")
    serve.add_argument("--threads", type=_whole_number(1), default=8, help="HTTP worker threads (default 8)")
    serve.add_argument("--sandbox-port", type=_whole_number(0, 65535), default=0,
                       help="port of the built-in SoftOne sandbox when it is on (default: any free port)")
    serve.add_argument("--migrate", action="store_true",
                       help="apply database migrations before serving (always done on SQLite)")
    serve.set_defaults(func=cmd_serve)


def _scheduler_parser(sub: Commands) -> None:
    sched = sub.add_parser("scheduler", help="run only the scheduler (no HTTP), for split deployments")
    sched.set_defaults(func=cmd_scheduler)


def _run_parser(sub: Commands) -> None:
    run = sub.add_parser("run", help="run one sync in the foreground; exit 0 on success, 1 on failure, 3 if busy")
    run.add_argument("integration_id", type=int, help="the integration's id (see: erp-sync integrations list)")
    run.add_argument("--full", action="store_true", help="ignore the watermark and read everything")
    run.add_argument("--dry-run", action="store_true", help="read and map, write nothing, print what would change")
    run.set_defaults(func=cmd_run)


def _db_parser(sub: Commands) -> None:
    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="apply migrations (default: to the newest)")
    up.add_argument("revision", nargs="?", default="head", help="target revision (default head)")
    db_sub.add_parser("current", help="print the schema revision")
    db_sub.add_parser("rotate-keys", help="re-encrypt stored ERP passwords with the first ERP_SYNC_SECRET_KEYS key")
    db.set_defaults(func=cmd_db)


def _integrations_parser(sub: Commands) -> None:
    ints = sub.add_parser("integrations", help="list, show, create, delete, activate, deactivate integrations")
    int_sub = ints.add_subparsers(dest="int_command", required=True)
    int_sub.add_parser("list", help="one line per integration")
    for name, text in (("show", "print one integration as JSON (no password)"), ("delete", "delete one"),
                       ("activate", "schedule it again"), ("deactivate", "stop scheduling it")):
        one = int_sub.add_parser(name, help=text)
        one.add_argument("integration_id", type=int)
    create = int_sub.add_parser("create", help="create from a JSON file shaped like POST /api/integrations")
    create.add_argument("file", help="path of the JSON file")
    ints.set_defaults(func=cmd_integrations)


def _sandbox_parser(sub: Commands) -> None:
    sandbox = sub.add_parser("sandbox", help="serve the built-in SoftOne sandbox (or with --soap the SOAP one) alone")
    sandbox.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    sandbox.add_argument("--port", type=_whole_number(1, 65535), default=8765, help="port (default 8765)")
    sandbox.add_argument("--rows", type=int, default=1000, help="number of customers (default 1000)")
    sandbox.add_argument("--seed", type=int, default=1, help="data seed (default 1)")
    sandbox.add_argument("--soap", action="store_true",
                         help="serve the SOAP sandbox instead: Dynamics NAV-style Customer and Item page services")
    sandbox.set_defaults(func=cmd_sandbox)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigurationError as exc:
        print(f"erp-sync: {exc.code}: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except ErpSyncError as exc:
        print(f"erp-sync: {exc.code}: {exc.message}", file=sys.stderr)
        return EXIT_USAGE if exc.code in {"CONFIGURATION_ERROR", "VALIDATION_ERROR", "NOT_FOUND"} else EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:
        failure = _database_failure(exc)
        if failure is None:
            raise
        print(f"erp-sync: {failure.code}: {failure.message}", file=sys.stderr)
        return EXIT_FAILED


def _database_failure(exc: Exception) -> ErpSyncError | None:
    """DATABASE_ERROR for a database that failed under a command, naming it (password hidden) and saying what to
    check, instead of a traceback; None for any other exception."""
    from erp_sync.db.failures import database_error
    from erp_sync.settings import load_settings

    try:
        database_url = load_settings().database_url
    except ConfigurationError:
        database_url = ""
    return database_error(exc, database_url)


if __name__ == "__main__":
    sys.exit(main())
