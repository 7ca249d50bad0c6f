"""`ponder sandbox` commands: build the image, run a program in the sandbox, benchmark the pool."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ponder.cli.app import app
from ponder.errors import ConfigError

sandbox_app = typer.Typer(
    help="Build the sandbox image, run untrusted Python in it, measure the warm pool.",
    no_args_is_help=True,
)
app.add_typer(sandbox_app, name="sandbox")
err = Console(stderr=True)


@sandbox_app.command()
def build(
    offline: Annotated[
        bool,
        typer.Option(
            "--offline", help="Skip the registry: debootstrap a Debian base and import it."
        ),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Rebuild even if the tag for these inputs exists.")
    ] = False,
    mirror: Annotated[
        str | None,
        typer.Option(help="Debian mirror for --offline (default: from /etc/apt sources)."),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only print the resulting tag.")
    ] = False,
) -> None:
    """Build the sandbox image (tagged by a hash of its inputs) unless it is already there."""
    from ponder.sandbox.image import build_image

    def progress(line: str) -> None:
        if not quiet:
            err.print(line, markup=False, highlight=False, soft_wrap=True)

    result = build_image(offline=offline, force=force, mirror=mirror, progress=progress)
    typer.echo(result.tag)


@sandbox_app.command("exec")
def exec_(
    file: Annotated[
        str, typer.Argument(help="Python file to run, or - to read the program from stdin.")
    ],
    stdin: Annotated[
        Path | None, typer.Option("--stdin", help="File fed to the program's stdin.")
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Wall-clock limit in seconds.")
    ] = 10.0,
    memory: Annotated[int, typer.Option("--memory", help="Memory limit in MB.")] = 512,
    as_json: Annotated[bool, typer.Option("--json", help="Print the ExecResult as JSON.")] = False,
    sandbox: Annotated[
        str, typer.Option("--sandbox", help="docker (isolated) or local (NOT isolated).")
    ] = "docker",
) -> None:
    """Run a Python program in the sandbox; exit status 0 only when the result is ok."""
    from ponder.sandbox import Job, Limits, open_sandbox

    code = sys.stdin.read() if file == "-" else _read(Path(file), "FILE")
    job_stdin = _read(stdin, "--stdin") if stdin else ""
    limits = Limits(timeout_s=timeout, cpu_s=max(1, int(timeout) + 1), memory_mb=memory)
    job = Job(code=code, stdin=job_stdin, limits=limits)

    async def run_one():
        async with open_sandbox(sandbox, pool_size=1) as box:
            return await box.run(job)

    result = asyncio.run(run_one())
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        sys.stdout.write(result.stdout)
        sys.stderr.write(result.stderr)
        detail = f" ({result.note})" if result.note else ""
        err.print(
            f"[dim]{result.status}, exit {result.exit_code}, {result.duration_s * 1000:.1f} ms{detail}[/]"
        )
    if not result.ok:
        raise typer.Exit(result.exit_code if result.exit_code and result.exit_code > 0 else 1)


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise ConfigError(
            f"cannot read {what} {path}: {exc.strerror}", fix="pass a readable file"
        ) from exc


@sandbox_app.command()
def bench(
    jobs: Annotated[int, typer.Option("--jobs", help="Jobs per measurement.")] = 300,
    pool_size: Annotated[
        int | None, typer.Option(help="Containers in the pool (default: CPU cores).")
    ] = None,
    baseline: Annotated[int, typer.Option(help="`docker run` samples for the baseline.")] = 7,
) -> None:
    """Warm-pool latency (p50/p99), throughput and a HumanEval-style check vs `docker run` per job."""
    from ponder.sandbox.bench import markdown, run_bench

    if jobs < 1:
        raise ConfigError(f"--jobs {jobs} is not positive", fix="pass --jobs 300")
    report = asyncio.run(run_bench(jobs=jobs, pool_size=pool_size, baseline_samples=baseline))
    typer.echo(markdown(report))
