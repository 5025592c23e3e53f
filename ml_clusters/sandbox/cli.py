"""`ml-clusters sandbox`: the whole estate in an embedded AWS emulator, with the Dagster UI on top."""

from __future__ import annotations

import re
import signal
import socket
import time
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

console = Console(highlight=False, soft_wrap=True)  # errors stay one line


def register(app: typer.Typer) -> None:
    """Add this area's commands to the `ml-clusters` app (usage errors as one line, exit 2)."""
    from ml_clusters.cli_usage import OneLineCommand

    app.command(name="sandbox", cls=OneLineCommand)(sandbox)


def _usage_error(message: str) -> NoReturn:
    console.print(f"[red]error:[/] {message}")
    raise typer.Exit(2)


def _check_host(host: str) -> None:
    """The UI's --host must resolve and be an address of this machine — told apart from a busy port."""
    try:
        socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        _usage_error(f"--host {host}: cannot resolve it ({getattr(error, 'strerror', None) or error}); "
                     "pass an address of this machine, e.g. 127.0.0.1")
    try:
        _free_port(host)
    except OSError as error:
        _usage_error(f"--host {host}: cannot listen on it ({error.strerror or error}); pass an address of this "
                     "machine, e.g. 127.0.0.1")


def _check_home(home: Path | None) -> None:
    if home is None:
        return
    existing = next((p for p in (home, *home.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        where = "" if existing == home else f" ({existing} is a file)"
        _usage_error(f"--home {home}: not a directory{where}; pass a directory for the sandbox's DAGSTER_HOME")


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _raise_keyboard_interrupt(signum, frame):  # SIGTERM stops the sandbox the same way Ctrl-C does
    raise KeyboardInterrupt


def sandbox(
    live_dir: Annotated[
        Path | None, typer.Option(help="Terragrunt live tree (default: $ML_CLUSTERS_LIVE_DIR or terraform/live).")
    ] = None,
    port: Annotated[int, typer.Option(min=0, max=65535,
                                      help="Port of the Dagster UI on --host (0 = any free port).")] = 3000,
    host: Annotated[str, typer.Option(help="Interface the UI listens on.")] = "127.0.0.1",
    home: Annotated[
        Path | None,
        typer.Option(help="Sandbox DAGSTER_HOME, wiped on every start (default: .dagster_home/sandbox)."),
    ] = None,
    faults: Annotated[
        bool, typer.Option("--faults/--no-faults", help="Inject the documented faults for the sensors to find.")
    ] = True,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the UI and for the first sensor round.")] = 300.0,
    workspace: Annotated[
        Path | None, typer.Option(help="Dagster workspace file (default: the repository's workspace.yaml).")
    ] = None,
) -> None:
    """Start an AWS emulator seeded from the live tree, and the Dagster UI with the sensors on. Ctrl-C stops all."""
    from ml_clusters.estate import EstateError, default_live_dir
    from ml_clusters.sandbox import probe
    from ml_clusters.sandbox.emulator import EmulatorError
    from ml_clusters.sandbox.sandbox import Sandbox, SandboxError, SandboxOptions
    from ml_clusters.sandbox.seed import SeedError

    _check_host(host)
    _check_home(home)
    options = SandboxOptions(live_dir=live_dir or default_live_dir())
    if home is not None:
        options.home = home.resolve()
    options.host = host
    options.port = port or _free_port(host)
    options.faults = faults
    if workspace is not None:
        options.workspace = workspace.resolve()
    if not _port_free(options.host, options.port):
        _usage_error(f"port {options.port} on {options.host} is in use; pass --port (0 = any free port)")

    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    started = time.monotonic()
    box = Sandbox(options)
    try:
        console.print(f"[bold]ml-clusters sandbox[/] — estate {options.live_dir}")
        prepared = box.prepare()
        _print_seed_summary(prepared)
        dagster = box.start_dagster()
        console.print(f"starting dagster dev (log: {options.home / 'dagster-dev.log'}) …")

        def ui_loaded():
            loaded, error = probe.location_status(box.url)
            if loaded and error:
                raise SandboxError(f"the ml_clusters code location failed to load: {error}")
            return loaded

        probe.wait_for(ui_loaded, timeout, "the Dagster UI", alive=dagster.running)
        started_now = probe.start_sensors(box.url)
        console.print(
            f"[green]UI ready[/] at [bold]{box.url}[/] after {time.monotonic() - started:.1f}s"
            + (f" (turned on: {', '.join(started_now)})" if started_now else "")
        )
        views = probe.wait_for(
            lambda: probe.sensor_round_complete(box.url),
            timeout,
            "the first sensor round",
            interval=1.0,
            alive=dagster.running,
        )
        console.print(f"[green]first sensor round complete[/] after {time.monotonic() - started:.1f}s")
        _print_sensors(views, probe.check_results(box.url))
        console.print(f"\nOpen [bold]{box.url}[/] — Ctrl-C stops the UI, the daemon and the emulator.")
        while dagster.running():
            time.sleep(0.5)
        console.print(
            f"[red]dagster dev exited[/] (code {dagster.popen.returncode}); last lines of its log:\n{dagster.log_tail()}"
        )
        raise typer.Exit(1)
    except KeyboardInterrupt:
        console.print("\nstopping the sandbox …")
    except (EstateError, SeedError, EmulatorError, SandboxError, probe.ProbeError, FileNotFoundError,
            NotADirectoryError, PermissionError) as error:
        console.print(f"[red]error:[/] {error}")
        if box.dagster is not None and box.dagster.log_tail():
            console.print(f"last lines of {box.dagster.log_path}:\n{box.dagster.log_tail()}")
        raise typer.Exit(1) from None
    finally:
        box.stop()
    console.print("sandbox stopped; nothing left running.")


def _print_seed_summary(prepared) -> None:
    seed = prepared.seed
    console.print(
        f"AWS emulator at {prepared.emulator_url}: {len(seed.units)} units seeded, {seed.resources()} resources, "
        f"state files in s3://{seed.state_bucket} ({prepared.seconds:.1f}s)"
    )
    per_region: dict[tuple[str, str], int] = {}
    for s in seed.units.values():
        if s.unit.account:
            key = (f"{s.unit.account.key} ({s.unit.account.id})", s.unit.region)
            per_region[key] = per_region.get(key, 0) + 1
    table = Table("account", "region", "units", box=None, pad_edge=False)
    for (account, region), count in sorted(per_region.items()):
        table.add_row(account, region, str(count))
    console.print(table)
    notes = [(path, note) for path, s in seed.units.items() for note in s.notes]
    if notes:
        console.print("[yellow]not emulated[/] (shown as such in the UI, never faked):")
        seen: set[str] = set()
        for path, note in notes:
            if note not in seen:
                seen.add(note)
                console.print(f"  • {note} [dim]({path})[/]")
    if prepared.faults:
        console.print("[bold]injected faults[/]:")
        for fault in prepared.faults:
            console.print(f"  • [magenta]{fault.kind}[/] on {fault.unit}: {fault.detail}")


def _group_skips(skipped) -> dict[str, list[str]]:
    """ "account/region [source]: reason" lines → reason (endpoint elided) → slices, so that one missing
    API reads as one line, not one per region."""
    grouped: dict[str, list[str]] = {}
    for line in skipped:
        where, _, reason = line.partition(": ")
        slice_label = where.split(" [", 1)[0].strip()
        reason = re.sub(r"by (this )?(the )?endpoint( http\S+)?", "by the emulator", reason)
        grouped.setdefault(reason, [])
        if slice_label not in grouped[reason]:
            grouped[reason].append(slice_label)
    return grouped


def _print_sensors(views, checks) -> None:
    console.print(
        "sensors: " + ", ".join(f"{v.name} ({_tick_word(v.last_tick)})" for v in views)
    )
    for view in views:
        for reason, slices in _group_skips(view.skipped).items():
            console.print(f"  [yellow]skipped[/] by {view.name} in {', '.join(slices)}: {reason}")
    found = [c for c in checks if c.status not in (None, "SUCCEEDED")]
    if not found:
        console.print("the sensors found nothing wrong")
        return
    console.print("[bold]what the sensors found[/] (see each asset's Checks tab):")
    for check in sorted(found, key=lambda c: (c.check, c.asset)):
        detail = (check.description or check.status or "").splitlines()[0][:160]
        console.print(f"  • [red]{check.check}[/] on {check.asset}: {detail}")


def _tick_word(status: str | None) -> str:
    # Dagster calls a tick that reported results but requested no run "SKIPPED"; say what happened.
    if not status:
        return "no tick yet"
    if status.upper() == "SKIPPED":
        return "ticked, results recorded"
    return status.lower()
