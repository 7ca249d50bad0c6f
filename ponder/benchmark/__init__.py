"""Inference-time scaling benches: cells, sample pools, resumable results, reports, Ray.

from ponder.benchmark import BenchConfig, run_local, build_report
config = BenchConfig(scenario="humaneval", limit=20, strategies=["greedy", "mcts"], budgets=[1, 4])
asyncio.run(run_local(config, "bench-out"))
build_report("bench-out")
"""

from ponder.benchmark.config import POOL_STRATEGIES, BenchConfig, load_bench_config
from ponder.benchmark.report import build_report, compare, compare_table, markdown_table
from ponder.benchmark.results import CellResult, ResultsStore, load_results, summarize
from ponder.benchmark.runner import BenchRun, run_bench
from ponder.benchmark.session import run_local
from ponder.benchmark.stats import pass_at_k, resampled

__all__ = [
    "POOL_STRATEGIES",
    "BenchConfig",
    "BenchRun",
    "CellResult",
    "ResultsStore",
    "build_report",
    "compare",
    "compare_table",
    "load_bench_config",
    "load_results",
    "markdown_table",
    "pass_at_k",
    "resampled",
    "run_bench",
    "run_local",
    "summarize",
]
