"""`ponder sandbox bench`: warm-pool latency and throughput against a `docker run` per job."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from dataclasses import dataclass

from ponder.errors import SandboxError
from ponder.sandbox.base import Job
from ponder.sandbox.docker_deployment import ContainerSpec, container_options
from ponder.sandbox.engine import docker_client
from ponder.sandbox.image import find_image
from ponder.sandbox.registry import open_sandbox

TRIVIAL = "print('ok')"
HUMANEVAL_STYLE = """
from typing import List


def has_close_elements(numbers: List[float], threshold: float) -> bool:
    for i, a in enumerate(numbers):
        for j, b in enumerate(numbers):
            if i != j and abs(a - b) < threshold:
                return True
    return False


def check(candidate):
    assert candidate([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3) == True
    assert candidate([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.05) == False
    assert candidate([1.0, 2.0, 5.9, 4.0, 5.0], 0.95) == True
    assert candidate([1.0, 2.0, 5.9, 4.0, 5.0], 0.8) == False
    assert candidate([1.0, 2.0, 3.0, 4.0, 5.0, 2.0], 0.1) == True
    assert candidate([1.1, 2.2, 3.1, 4.1, 5.1], 1.0) == True
    assert candidate([1.1, 2.2, 3.1, 4.1, 5.1], 0.5) == False


check(has_close_elements)
"""
# The same check as the judge runs it: the tests in the judge, the solution in its own process.
CHECK_SOLUTION, CHECK_TESTS = HUMANEVAL_STYLE.split("\n\n\ndef check")
CHECK_TESTS = "def check" + CHECK_TESTS


@dataclass(frozen=True)
class BenchReport:
    jobs: int
    pool_size: int
    trivial_p50_ms: float
    trivial_p99_ms: float
    throughput_jobs_s: float
    humaneval_p50_ms: float
    judged_p50_ms: float
    docker_run_p50_ms: float
    docker_run_samples: int
    failures: int
    load_average: float  # host load (1 min) at the end: other work on the machine skews latency
    job_cpu_ms: float  # median CPU of the forked job process itself: a load-independent floor

    @property
    def speedup(self) -> float:
        return self.docker_run_p50_ms / self.trivial_p50_ms if self.trivial_p50_ms else float("nan")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _latencies(sandbox, job: Job, n: int) -> tuple[list[float], int, list[float]]:
    """Host-observed latencies (ms), failures, and the job process's own CPU time (ms)."""
    times, failures, cpu = [], 0, []
    for _ in range(n):
        start = time.perf_counter()
        result = await sandbox.run(job)
        times.append((time.perf_counter() - start) * 1000)
        failures += not result.ok
        cpu.append((result.cpu_s or 0.0) * 1000)
    return times, failures, cpu


async def _judged_latencies(sandbox, n: int) -> tuple[list[float], int]:
    """Host-observed latencies (ms) of the HumanEval-style check run under the judge."""
    from ponder.testrun import run_tests  # the harness above the sandbox layer, as search uses it

    times, failures = [], 0
    for _ in range(n):
        start = time.perf_counter()
        run = await run_tests(
            sandbox, CHECK_SOLUTION, [CHECK_TESTS], entry_point="has_close_elements"
        )
        times.append((time.perf_counter() - start) * 1000)
        failures += not run.all_passed
    return times, failures


async def _throughput(sandbox, job: Job, n: int) -> tuple[float, int]:
    start = time.perf_counter()
    results = await asyncio.gather(*(sandbox.run(job) for _ in range(n)))
    return n / (time.perf_counter() - start), sum(not r.ok for r in results)


def docker_run_baseline(image: str, samples: int) -> list[float]:
    """A fresh hardened container per job (`docker run --rm ... python3 -c`), as a baseline."""
    client = docker_client()
    options = container_options(ContainerSpec(image=image), slot=0)
    options.update(command=["python3", "-c", TRIVIAL], stdin_open=False, remove=True)
    options.pop("log_config")  # `docker run` reads the output back through the log driver
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        output = client.containers.run(**options)
        times.append((time.perf_counter() - start) * 1000)
        if output.strip() != b"ok":
            raise SandboxError(
                f"baseline container printed {output!r}",
                fix="rebuild: ponder sandbox build --force",
            )
    return times


async def run_bench(
    jobs: int = 300, pool_size: int | None = None, baseline_samples: int = 7
) -> BenchReport:
    image = find_image()
    if image is None:
        raise SandboxError("the sandbox image is not built", fix="ponder sandbox build --offline")
    size = pool_size or os.cpu_count() or 1
    trivial, humaneval = Job(code=TRIVIAL), Job(code=HUMANEVAL_STYLE)
    async with open_sandbox("docker", pool_size=size, image=image) as sandbox:
        await _latencies(sandbox, trivial, 4 * size)  # warm-up
        lat, fail1, cpu = await _latencies(sandbox, trivial, jobs)
        rate, fail2 = await _throughput(sandbox, trivial, jobs)
        he, fail3, _ = await _latencies(sandbox, humaneval, max(jobs // 3, 10))
        judged, fail4 = await _judged_latencies(sandbox, max(jobs // 3, 10))
    baseline = await asyncio.to_thread(docker_run_baseline, image, baseline_samples)
    return BenchReport(
        jobs=jobs,
        pool_size=size,
        trivial_p50_ms=statistics.median(lat),
        trivial_p99_ms=percentile(lat, 0.99),
        throughput_jobs_s=rate,
        humaneval_p50_ms=statistics.median(he),
        judged_p50_ms=statistics.median(judged),
        docker_run_p50_ms=statistics.median(baseline),
        docker_run_samples=baseline_samples,
        failures=fail1 + fail2 + fail3 + fail4,
        load_average=os.getloadavg()[0],
        job_cpu_ms=statistics.median(cpu),
    )


def markdown(report: BenchReport) -> str:
    rows = [
        ("trivial job p50 latency (sequential)", f"{report.trivial_p50_ms:.2f} ms", "<= 10 ms"),
        ("trivial job p99 latency (sequential)", f"{report.trivial_p99_ms:.2f} ms", "<= 50 ms"),
        (
            f"throughput ({report.jobs} concurrent jobs, pool {report.pool_size})",
            f"{report.throughput_jobs_s:.0f} jobs/s",
            ">= 100 jobs/s",
        ),
        (
            "HumanEval-style check p50, judged (tests in the judge, solution in its own process)",
            f"{report.judged_p50_ms:.2f} ms",
            "<= 10 ms",
        ),
        (
            "HumanEval-style program p50 (function + asserts in one process, no judge)",
            f"{report.humaneval_p50_ms:.2f} ms",
            "<= 30 ms",
        ),
        (
            f"`docker run` per job p50 (baseline, {report.docker_run_samples} runs)",
            f"{report.docker_run_p50_ms:.0f} ms",
            "",
        ),
        ("speed-up of the warm pool over `docker run` (p50)", f"{report.speedup:.0f}x", ""),
        ("CPU of the forked job process, trivial job p50", f"{report.job_cpu_ms:.2f} ms", ""),
        ("failed jobs", str(report.failures), "0"),
        (f"host load average (1 min; {os.cpu_count()} CPUs)", f"{report.load_average:.1f}", ""),
    ]
    lines = ["| measure | value | target |", "|---|---|---|"]
    lines += [f"| {name} | {value} | {target} |" for name, value, target in rows]
    return "\n".join(lines)
