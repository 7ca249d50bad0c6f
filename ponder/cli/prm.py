"""`ponder prm` commands: collect step labels, train our PRM, evaluate it, serve it, score steps."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ponder.cli.app import app

prm_app = typer.Typer(
    help="Process reward models: collect, train, eval, serve.", no_args_is_help=True
)
app.add_typer(prm_app, name="prm")
console = Console()


@prm_app.command("collect")
def collect_cmd(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="JSONL to append labelled solutions to.")
    ],
    tasks: Annotated[
        str, typer.Option(help="Scenario name, gsm8k-train, or a task file.")
    ] = "gsm8k-train",
    limit: Annotated[int, typer.Option(help="How many tasks.")] = 30,
    skip: Annotated[int, typer.Option(help="Skip this many tasks first (disjoint slices).")] = 0,
    samples: Annotated[int, typer.Option(help="Solutions sampled per task.")] = 4,
    rollouts: Annotated[
        int, typer.Option(help="Completions per step prefix (0: outcome only).")
    ] = 4,
    max_steps: Annotated[int, typer.Option(help="Label at most this many steps.")] = 6,
    max_tokens: Annotated[int, typer.Option(help="Tokens per sampled solution.")] = 320,
    temperature: Annotated[float, typer.Option()] = 0.8,
    seed: Annotated[int, typer.Option()] = 0,
    model: Annotated[str, typer.Option(help="Policy model string.")] = "local",
) -> None:
    """Sample solutions and label each step by Monte-Carlo rollouts (Math-Shepherd)."""
    from ponder.budget import Budget
    from ponder.llm import open_model
    from ponder.prm.collect import CollectConfig, Collector
    from ponder.prm.tasks import load_prm_tasks

    config = CollectConfig(
        samples=samples,
        rollouts=rollouts,
        max_steps=max_steps,
        temperature=temperature,
        max_tokens=max_tokens,
        seed=seed,
    )
    chosen = load_prm_tasks(tasks, limit=limit, skip=skip)
    budget = Budget()
    collector = Collector(open_model(model), config, budget)

    def progress(task, recs) -> None:
        ok = sum(r.correct for r in recs)
        console.print(
            f"{task.id}: {ok}/{len(recs)} correct, steps {[len(r.steps) for r in recs]}, "
            f"{budget.spent.completion_tokens} tokens so far"
        )

    records = asyncio.run(collector.run(chosen, out, on_task=progress))
    console.print(f"wrote {len(records)} solutions to {out}; spent {budget.report()['spent']}")


@prm_app.command("train")
def train_cmd(
    data: Annotated[Path, typer.Argument(help="JSONL from `ponder prm collect`.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the trained PRM.")],
    encoder: Annotated[
        str | None, typer.Option(help="Encoder: model dir or .gguf (default: embedded).")
    ] = None,
    layers: Annotated[int, typer.Option(help="Use the encoder's first N layers (0: all).")] = 8,
    target: Annotated[str, typer.Option(help="value | hard | progress")] = "value",
    hidden: Annotated[int, typer.Option(help="Head width (0: linear).")] = 256,
    epochs: Annotated[int, typer.Option()] = 300,
    device: Annotated[
        str | None, typer.Option(help="cpu / cuda (default: cuda when available).")
    ] = None,
) -> None:
    """Fit a value head on frozen encoder hidden states; save it for the `hf` backend."""
    from ponder.prm.dataset import read_records
    from ponder.prm.train import TrainConfig, train_prm

    if encoder is None:
        from ponder.llm.embedded import ensure_embedded_model

        encoder = str(ensure_embedded_model())
    config = TrainConfig(
        encoder=encoder,
        layers=layers or None,
        target=target,
        hidden=hidden,
        epochs=epochs,
        device=device,
    )
    report = train_prm(read_records(data), out, config, log=console.print)
    console.print_json(json.dumps(report.to_dict()))


@prm_app.command("eval")
def eval_cmd(
    data: Annotated[Path, typer.Argument(help="JSONL of held-out tasks (collect --samples 8).")],
    prm: Annotated[Path | None, typer.Option(help="A PRM directory for the hf backend.")] = None,
    prm_url: Annotated[str | None, typer.Option(help="A vLLM pooling server instead.")] = None,
    judge: Annotated[str | None, typer.Option(help="Model string for the judge baseline.")] = None,
    judge_logprobs: Annotated[
        bool, typer.Option(help="Open a local judge with logits_all.")
    ] = True,
    judge_steps: Annotated[
        bool, typer.Option(help="The judge also rates every step (1 + steps calls per candidate).")
    ] = False,
    majority: Annotated[bool, typer.Option(help="Include the majority baseline.")] = True,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the report here.")] = None,
) -> None:
    """Best-of-N selection accuracy and step-label AUC: PRM vs judge vs majority."""
    from ponder.llm import open_model
    from ponder.prm.dataset import read_records
    from ponder.prm.evaluate import evaluate
    from ponder.verifiers import get_verifier
    from ponder.verifiers.prm import PRMVerifier

    verifiers = {}
    if majority:
        verifiers["majority"] = get_verifier("majority")
    if prm is not None:
        verifiers["prm"] = PRMVerifier(prm=f"hf:{prm}")
    if prm_url is not None:
        verifiers["prm-http"] = PRMVerifier(prm=prm_url)
    if judge is not None:
        opts = (
            {"logits_all": True, "n_ctx": 2048}
            if judge_logprobs and judge.startswith("local")
            else {}
        )
        model = open_model(judge, **opts)
        verifiers["judge"] = get_verifier("judge", model=model, per_step=judge_steps)
    report = asyncio.run(
        evaluate(
            read_records(data),
            verifiers,
            on_task=lambda t: console.print(f"scored {t}", style="dim"),
        )
    )
    table = Table(
        title=f"best-of-{report.n:g} on {report.tasks} tasks "
        f"(pass@N {report.oracle:.2f}, random pick {report.mean_single:.2f})"
    )
    for col in ("method", "accuracy", "step AUC", "outcome AUC", "seconds"):
        table.add_column(col)
    fmt = lambda x: "-" if x is None else f"{x:.3f}"  # noqa: E731
    for m in report.methods:
        table.add_row(
            m.method, fmt(m.accuracy), fmt(m.step_auc), fmt(m.outcome_auc), f"{m.seconds:.1f}"
        )
    console.print(table)
    if json_out:
        json_out.write_text(json.dumps(report.to_dict(), indent=2) + "\n")


@prm_app.command("serve")
def serve_cmd(
    prm: Annotated[Path, typer.Argument(help="A PRM directory (hf backend).")],
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8008,
    name: Annotated[str, typer.Option(help="Model name the API reports.")] = "ponder-prm",
) -> None:
    """Serve a PRM over vLLM's pooling API (`POST /pooling`), for `--prm-url` clients."""
    from ponder.prm.hf import HFScorer
    from ponder.prm.server import PoolingServer

    server = PoolingServer(HFScorer(prm), model_name=name, host=host, port=port)
    console.print(f"serving {prm} as {name!r} at {server.url}/pooling (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.stop()
