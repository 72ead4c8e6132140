"""The ``servio`` command: serve, worker, migrate, seed, audit, demo, check-live."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from servio.platform.clock import pin_clock
from servio.platform.config import Settings
from servio.platform.logging import configure_logging

if TYPE_CHECKING:
    import uvicorn

    from servio.platform import audit
    from servio.platform.worker import Worker

# Each command imports what it runs (the web app, the worker's container, the HTTP
# client), so ``servio --help`` and ``servio migrate`` start fast and ``servio worker``
# never loads the web layer.

app = typer.Typer(
    help="Servio: quotes, bookings, deposits, crews and payment for service businesses.",
    no_args_is_help=True,
    add_completion=False,
)
migrate_app = typer.Typer(
    help="Database migrations (Alembic). With no subcommand: upgrade to head.",
    invoke_without_command=True,
)
seed_app = typer.Typer(help="Load data into the database.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
app.add_typer(migrate_app, name="migrate")
app.add_typer(seed_app, name="seed")
app.add_typer(audit_app, name="audit")

out = Console()
err = Console(stderr=True)

HostOpt = Annotated[str, typer.Option(help="Interface to listen on.")]
PortOpt = Annotated[int, typer.Option(help="TCP port to listen on.", min=1, max=65535)]


def load_settings() -> Settings:
    """Settings from the environment; on a bad value print each variable and why, exit 2."""
    try:
        settings = Settings()
    except ValidationError as exc:
        err.print("[bold red]Invalid configuration:[/]")
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"]) if error["loc"] else ""
            name = f"SERVIO_{field.upper()}" if field else "settings"
            err.print(f"  {name}: {error['msg']}")
        raise typer.Exit(2) from None
    if settings.clock_start is not None:  # seeding and serving read the same clock
        pin_clock(settings.clock_start)
    return settings


@app.command()
def serve(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    workers: Annotated[int, typer.Option(help="HTTP worker processes.", min=1)] = 1,
) -> None:
    """Serve the API, pages, webhooks, probes and metrics."""
    import uvicorn

    from servio.web.app import create_app

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    common = {
        "host": host,
        "port": port,
        "proxy_headers": False,
        "access_log": False,
        "log_config": None,
        "server_header": False,
    }
    if workers > 1:
        uvicorn.run("servio.web.app:create_app", factory=True, workers=workers, **common)  # type: ignore[arg-type]
    else:
        uvicorn.run(create_app(settings), **common)  # type: ignore[arg-type]


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="Make one pass and exit.")] = False,
) -> None:
    """Drain the outbox, run due jobs and heartbeat, until stopped (SIGINT/SIGTERM)."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(_run_worker(settings, once=once))


async def _run_worker(settings: Settings, *, once: bool) -> None:
    from servio.app.container import Container

    container = Container.from_settings(settings)
    runner = container.worker()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, runner.stop)
    try:
        await runner.run(once=once)
    except Exception as exc:
        # The loop survives every error of its work; reaching here is a defect or, with
        # --once, a database it cannot reach. Say so and exit non-zero, never silently.
        err.print(f"[bold red]worker stopped:[/] {escape(f'{type(exc).__name__}: {exc}')}")
        raise typer.Exit(1) from None
    finally:
        await container.close()


def _database_url() -> str:
    return load_settings().database_url


@migrate_app.callback()
def migrate_default(ctx: typer.Context) -> None:
    """Migrate to head when no subcommand is given."""
    if ctx.invoked_subcommand is None:
        upgrade()


# Alembic's relative targets start with a dash (``-1``): take them as the argument.
RELATIVE = {"ignore_unknown_options": True}
RevisionArg = Annotated[
    str, typer.Argument(help="Target: a revision id, head, base, or relative (-1, +1).")
]


def _migrate_to(move: Callable[[str, str], None], revision: str) -> None:
    from servio.platform.db import migrations as db_migrations

    url = _database_url()
    try:
        move(url, revision)
    except db_migrations.MigrationRefused as exc:
        err.print(f"[bold red]migration refused:[/] {exc}")
        raise typer.Exit(1) from None
    out.print(f"database at {db_migrations.current_revision(url)}")


@migrate_app.command(context_settings=RELATIVE)
def upgrade(revision: RevisionArg = "head") -> None:
    """Upgrade the database to REVISION (default: head; +1 = one step)."""
    from servio.platform.db import migrations as db_migrations

    _migrate_to(db_migrations.upgrade, revision)


@migrate_app.command(context_settings=RELATIVE)
def downgrade(revision: RevisionArg) -> None:
    """Downgrade the database to REVISION (-1 = one step back, base = empty)."""
    from servio.platform.db import migrations as db_migrations

    _migrate_to(db_migrations.downgrade, revision)


@migrate_app.command()
def history() -> None:
    """List the migrations, newest first, marking the head and the current one."""
    from servio.platform.db import migrations as db_migrations

    for revision in db_migrations.history(_database_url()):
        typer.echo(revision.line())


@migrate_app.command()
def check() -> None:
    """Fail when the models and the migrations differ (or a tenant table lacks RLS)."""
    from servio.platform.db import migrations as db_migrations

    try:
        db_migrations.check(_database_url())
    except db_migrations.MigrationsOutOfDate as exc:
        err.print(f"[bold red]migrations out of date:[/] {exc}")
        raise typer.Exit(1) from None
    out.print("models and migrations agree")


@migrate_app.command()
def current() -> None:
    """Print the database's revision and the head revision."""
    from servio.platform.db import migrations as db_migrations

    out.print(
        f"current: {db_migrations.current_revision(_database_url())}  "
        f"head: {db_migrations.head_revision()}"
    )


@seed_app.command("demo")
def seed_demo_command() -> None:
    """Create the demo businesses and their data (idempotent; refused in production)."""
    from servio.app.seeding import DemoSeedRefused, seed_demo

    settings = load_settings()
    try:
        results = asyncio.run(seed_demo(settings))
    except DemoSeedRefused as exc:
        err.print(f"[bold red]refused:[/] {exc}")
        raise typer.Exit(1) from None
    for name, result in results.items():
        out.print(f"seeded {name}: {result}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check every audit chain's hashes and links; exit 1 naming the first tampered event."""
    result = asyncio.run(_verify_audit_log(_database_url()))
    if result.tamper is not None:
        typer.echo(f"audit log TAMPERED: {result.tamper}", err=True)
        raise typer.Exit(1)
    typer.echo(f"audit log OK: {result.events} events in {result.chains} chains")


async def _verify_audit_log(database_url: str) -> audit.VerifyResult:
    from servio.platform import audit
    from servio.platform.db import Database

    db = Database(database_url)
    try:
        return await audit.verify(db)
    finally:
        await db.dispose()


@app.command()
def demo(host: HostOpt = "127.0.0.1", port: PortOpt = 8000) -> None:
    """Migrate, seed the demo businesses and serve with an in-process worker."""
    from servio.app.seeding import DemoSeedRefused, seed_demo
    from servio.platform.db import migrations as db_migrations

    settings = demo_settings(load_settings(), host, port)
    db_migrations.upgrade(settings.database_url)
    try:
        seeded = asyncio.run(seed_demo(settings))
    except DemoSeedRefused as exc:
        err.print(f"[bold red]refused:[/] {exc}")
        raise typer.Exit(1) from None
    base = f"http://{host}:{port}"
    out.print(f"[bold green]Servio demo[/] on {settings.database_url}")
    for label, path in [
        ("Console", "/app"),
        ("Booking", "/b/sparkle-clean"),
        ("Web chat", "/chat/inkwell-tattoo"),
        ("Portal", "/client/login/request?org=sparkle-clean"),
        ("API docs", "/docs"),
        ("Health", "/healthz"),
        ("Readiness", "/readyz"),
        ("Metrics", "/metrics"),
        ("OpenAPI", "/openapi.json"),
    ]:
        out.print(f"  {label:<10} {base}{path}")
    out.print(f"  Demo businesses: {', '.join(seeded.get('demo businesses', []))}")
    for login in seeded.get("demo logins", []):
        out.print(f"  Login     {login} / {settings.demo_password.get_secret_value()}")
    if settings.stripe_dev_checkout:
        out.print(f"  Payments  test checkout at {base}/dev/stripe (no card is charged)")
    out.print(f"  Emails    written to {settings.var_dir / 'mail'}")
    configure_logging(settings.log_level, settings.log_format)
    failure = asyncio.run(_serve_with_worker(settings, host, port))
    if failure is not None:
        err.print(f"[bold red]demo stopped: the in-process worker ended ({escape(failure)})[/]")
        err.print("Without it no email or message is sent; fix the cause and start it again.")
        raise typer.Exit(1)


def demo_settings(settings: Settings, host: str, port: int) -> Settings:
    """The demo answers on ``host:port`` and, without a Stripe key, takes deposits
    through the local test checkout."""
    update: dict[str, object] = {}
    if "public_url" not in settings.model_fields_set:
        update["public_url"] = f"http://{host}:{port}"
    if settings.stripe_api_key is None and settings.env != "prod":
        update["stripe_dev_checkout"] = True
    return settings.model_copy(update=update)


async def _serve_with_worker(settings: Settings, host: str, port: int) -> str | None:
    """Serve with an in-process worker; the reason the worker ended, if it did first."""
    import uvicorn

    from servio.app.container import Container
    from servio.platform.db import Database
    from servio.web.app import create_app

    container = Container.from_settings(settings)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, container=container),
            host=host,
            port=port,
            proxy_headers=False,
            access_log=False,
            log_config=None,
        )
    )
    runner = container.worker(
        Database(
            settings.database_url,
            timeout=settings.database_timeout_seconds,
            statement_timeout_ms=settings.database_statement_timeout_ms,
        )
    )
    try:
        return await serve_beside_worker(server, runner)
    finally:
        await runner.db.dispose()


async def serve_beside_worker(server: uvicorn.Server, runner: Worker) -> str | None:
    """Run ``server`` and ``runner`` together until the server stops. Should the worker
    end first (it survives every error of its work, so only a defect ends it), the
    server is stopped too and the reason returned: a demo that no longer sends email
    must not look alive."""
    worker_task = asyncio.create_task(runner.run())
    serving = asyncio.create_task(server.serve())
    await asyncio.wait({worker_task, serving}, return_when=asyncio.FIRST_COMPLETED)
    failure = _ended_early(worker_task)
    if failure is not None:
        server.should_exit = True
    try:
        await serving
    finally:
        runner.stop()
        if not worker_task.done():
            await worker_task
    return failure


def _ended_early(task: asyncio.Task[None]) -> str | None:
    if not task.done():
        return None
    if task.cancelled():
        return "cancelled"
    exc = task.exception()
    return f"{type(exc).__name__}: {exc}" if exc is not None else "it returned"


@app.command("check-live")
def check_live(
    base_url: Annotated[str, typer.Option(help="The deployment, e.g. https://api.example.com.")],
    verify_token: Annotated[
        str | None, typer.Option(help="SERVIO_WHATSAPP_VERIFY_TOKEN of the deployment.")
    ] = None,
    app_secret: Annotated[
        str | None, typer.Option(help="SERVIO_WHATSAPP_APP_SECRET (signs a status-only POST).")
    ] = None,
    admin_key: Annotated[
        str | None, typer.Option(help="An admin API key (X-Admin-API-Key) of a business.")
    ] = None,
    stripe_secret: Annotated[
        str | None, typer.Option(help="SERVIO_STRIPE_WEBHOOK_SECRET of the deployment.")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds per request.", min=0.1)] = 10.0,
) -> None:
    """Run the go-live checks against a deployment; exit 1 when any check fails.

    Checks whose secret is not given are skipped. No business data changes."""
    import httpx
    from rich.table import Table

    from servio import golive

    given = golive.Secrets(verify_token, app_secret, admin_key, stripe_secret)
    with httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout) as client:
        checks = golive.run_checks(client, given)
    table = Table(title=f"Go-live checks: {base_url}")
    for column in ("check", "result", "detail"):
        table.add_column(column)
    styles = {"pass": "[green]pass[/]", "fail": "[bold red]FAIL[/]", "skipped": "[dim]skipped[/]"}
    for check in checks:
        table.add_row(check.name, styles[check.outcome], check.detail)
    out.print(table)
    counts = {o: sum(c.outcome == o for c in checks) for o in ("pass", "fail", "skipped")}
    out.print(f"{counts['pass']} passed, {counts['fail']} failed, {counts['skipped']} skipped")
    if golive.failed(checks):
        raise typer.Exit(1)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
