#!/usr/bin/env python3
"""Fork-server runner inside a sandbox: length-prefixed JSON jobs on stdin, results on stdout.

Pure standard library; it is copied into the sandbox image and also run on the host by the
`local` deployment. One request at a time: write the job's files into a fresh directory, fork a
child (its own session, rlimits, captured output), enforce the wall timeout and the output cap,
kill every leftover process before answering, and wipe the scratch directories right after
(before the next request is read).
Python-code jobs run in the forked child without starting a new interpreter.

Judged jobs (mode "judge", see judge.py): the request frame is followed by `secret_bytes` raw
bytes (the tests) that the runner copies into a memfd through one reused, zeroed buffer, never
into a Python object: every later job is forked from this heap, so nothing secret may stay in
it. The judge writes its verdicts to a second memfd, which follows the response frame the same
way (`report_bytes`).
"""

from __future__ import annotations

import argparse
import atexit
import builtins
import contextlib
import fcntl
import importlib.util
import io
import json
import os
import resource
import select
import shutil
import signal
import stat
import struct
import sys
import tempfile
import time
import traceback
import types
from typing import Any

# Modules a typical candidate program imports; loaded once here so each forked job has them.
PRELOAD = (
    "bisect",
    "collections",
    "copy",
    "dataclasses",
    "fractions",
    "functools",
    "heapq",
    "itertools",
    "math",
    "operator",
    "random",
    "re",
    "statistics",
    "string",
    "threading",
    "typing",
)
HEADER = struct.Struct(">I")
MAX_REQUEST = 256 * 1024 * 1024
GRACE_AFTER_EXIT_S = 0.05
POLL_S = 0.02  # while a job runs, its pipes are emptied this often (output cap)
PIPE_SIZE = 1 << 20
PR_SET_DUMPABLE = 4
MB = 1024 * 1024
MAX_REPORT = 16 * MB
SCRATCH = bytearray(1 << 16)  # the only buffer secret bytes pass through; zeroed after each use
ZEROS = bytes(len(SCRATCH))


def read_exactly(fd: int, n: int) -> bytes | None:
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_request(fd: int) -> dict | None:
    head = read_exactly(fd, HEADER.size)
    if head is None:
        return None
    (size,) = HEADER.unpack(head)
    if size > MAX_REQUEST:
        raise ValueError(f"request of {size} bytes exceeds {MAX_REQUEST}")
    body = read_exactly(fd, size)
    return None if body is None else json.loads(body)


def write_response(fd: int, message: dict) -> None:
    body = json.dumps(message).encode()
    data = memoryview(HEADER.pack(len(body)) + body)
    while data:
        data = data[os.write(fd, data) :]


def secret_memfd(src: int, size: int) -> int:
    """The next `size` bytes of `src` in a fresh memfd, copied through SCRATCH only."""
    fd = os.memfd_create("secret", os.MFD_CLOEXEC)
    view = memoryview(SCRATCH)
    try:
        while size:
            got = os.readv(src, [view[: min(size, len(SCRATCH))]])
            if not got:
                raise EOFError("the request's secret part ended early")
            write_all(fd, view[:got])
            size -= got
    finally:
        view[:] = ZEROS
    return fd


def send_report(fd: int, size: int, dst: int) -> None:
    """Copy the first `size` bytes of memfd `fd` to `dst` through SCRATCH; close `fd`."""
    view = memoryview(SCRATCH)
    offset = 0
    try:
        while offset < size:
            got = os.preadv(fd, [view[: min(size - offset, len(SCRATCH))]], offset)
            if not got:  # cannot happen (size came from fstat); keep the frame's length honest
                view[:] = ZEROS
                got = min(size - offset, len(SCRATCH))
            write_all(dst, view[:got])
            offset += got
    finally:
        view[:] = ZEROS
        os.close(fd)


def write_all(fd: int, data: memoryview) -> None:
    while data:
        data = data[os.write(fd, data) :]


def load_judge() -> Any:
    """judge.py and codec.py from beside this file (the image has no `ponder` package)."""
    here = os.path.dirname(os.path.abspath(__file__))
    modules = {}
    for name, module_name in (("codec", "ponder_codec"), ("judge", "ponder_judge")):
        spec = importlib.util.spec_from_file_location(module_name, os.path.join(here, f"{name}.py"))
        if spec is None or spec.loader is None:
            return None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        modules[name] = module
    return modules["judge"]


JUDGE: Any = None  # loaded in serve(), before any job is forked


def set_dumpable(libc: Any, value: int) -> None:
    """Non-dumpable: a job (same uid) can neither ptrace the runner nor open its /proc fds."""
    if libc is not None:
        libc.prctl(PR_SET_DUMPABLE, value, 0, 0, 0)


def load_libc() -> Any:
    """The C library (for prctl and System V IPC cleanup), loaded once before any fork."""
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True)
    except (ImportError, OSError):
        return None


def safe_path(root: str, name: str) -> str:
    path = os.path.normpath(os.path.join(root, name))
    if os.path.isabs(name) or not path.startswith(root.rstrip("/") + "/"):
        raise ValueError(f"job file name {name!r} escapes the work directory")
    return path


def write_files(root: str, files: dict[str, str]) -> None:
    for name, content in files.items():
        path = safe_path(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(content)


def job_env(request: dict, workdir: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": workdir,
        "TMPDIR": workdir,
        "LANG": "C.UTF-8",
        "USER": "sandbox",
        "LOGNAME": "sandbox",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.update(request.get("env") or {})
    return env


def apply_limits(limits: dict) -> None:
    cpu = max(1, int(limits["cpu_s"]))
    memory = int(limits["memory_mb"]) * MB
    fsize = int(limits["file_size_mb"]) * MB
    settings = [
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        (resource.RLIMIT_AS, (memory, memory)),
        (resource.RLIMIT_FSIZE, (fsize, fsize)),
        (resource.RLIMIT_NOFILE, (256, 256)),
        (resource.RLIMIT_CORE, (0, 0)),
        (resource.RLIMIT_NPROC, (int(limits["processes"]), int(limits["processes"]))),
    ]
    for which, value in settings:
        resource.setrlimit(which, value)


def run_python_here(source: str, path: str, workdir: str, env: dict[str, str]) -> int:
    """Run `source` as `python3 main.py` would, inside this forked child; returns the exit code."""
    os.environ.clear()
    os.environ.update(env)
    sys.argv = [path]
    sys.path.insert(0, workdir)  # the runner runs with -I: no script directory in sys.path
    sys.stdin = sys.__stdin__ = io.TextIOWrapper(
        io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding="utf-8"
    )
    sys.stdout = sys.__stdout__ = io.TextIOWrapper(
        io.BufferedWriter(io.FileIO(1, "w", closefd=False)), encoding="utf-8"
    )
    sys.stderr = sys.__stderr__ = io.TextIOWrapper(
        io.BufferedWriter(io.FileIO(2, "w", closefd=False)),
        encoding="utf-8",
        errors="backslashreplace",
        line_buffering=True,
    )
    main = types.ModuleType("__main__")
    main.__file__ = path
    main.__builtins__ = builtins
    sys.modules["__main__"] = main
    code = 0
    try:
        exec(compile(source, path, "exec"), main.__dict__)
    except SystemExit as exc:
        code = exit_code_of(exc)
    except BaseException as exc:  # noqa: BLE001 - report like the interpreter does
        tb = exc.__traceback__.tb_next if exc.__traceback__ else None
        traceback.print_exception(type(exc), exc, tb)
        code = 1
    try:
        import threading

        if threading.active_count() > 1:
            threading._shutdown()  # type: ignore[attr-defined]  # join non-daemon threads
        atexit._run_exitfuncs()
    except BaseException:  # noqa: BLE001
        pass
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.flush()
    return code


def exit_code_of(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code & 0xFF
    print(exc.code, file=sys.stderr)
    return 1


def child(request: dict, workdir: str, fds: tuple[int, ...]) -> None:
    """In the forked child: isolate, limit, then exec the command or run the Python code.

    `fds` become 0, 1, 2 (and 3, 4 for a judged job: the secret and report memfds)."""
    code = 127
    try:
        os.setsid()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        os.closerange(len(fds), 1 << 16)
        os.chdir(workdir)
        os.umask(0o022)
        env = job_env(request, workdir)
        apply_limits(request["limits"])
        if request["mode"] == "exec":
            for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT):
                signal.signal(sig, signal.SIG_DFL)
            command = request["command"]
            os.execvpe(command[0], command, env)
        elif request["mode"] == "judge":
            os.environ.clear()
            os.environ.update(env)
            code = JUDGE.main(request["source"])
        else:
            path = os.path.join(workdir, "main.py")
            code = run_python_here(request["source"], path, workdir, env)
    except BaseException:  # noqa: BLE001
        with contextlib.suppress(OSError):
            os.write(2, traceback.format_exc().encode())
    os._exit(code)


class OomScore:
    """The runner's own oom_score_adj, raised around each fork so only the child keeps 1000.

    The child inherits the value at fork: the job, not the runner, is the out-of-memory killer's
    first choice. The file is opened once, before the runner becomes non-dumpable.
    """

    def __init__(self) -> None:
        try:
            self.fd: int | None = os.open("/proc/self/oom_score_adj", os.O_WRONLY)
        except OSError:
            self.fd = None

    def set(self, value: int) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.pwrite(self.fd, str(value).encode(), 0)


def stdin_fd(data: str) -> int:
    fd = os.memfd_create("stdin")
    payload = memoryview(data.encode())
    while payload:
        payload = payload[os.write(fd, payload) :]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


class Capture:
    """Output of one stream, kept up to `cap` bytes; counts what it drops."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.data = bytearray()
        self.dropped = 0

    def add(self, chunk: bytes) -> bool:
        """Keep what fits; True when the cap was exceeded."""
        room = self.cap - len(self.data)
        self.data += chunk[: max(room, 0)]
        self.dropped += max(len(chunk) - max(room, 0), 0)
        return self.dropped > 0

    def text(self) -> str:
        text = self.data.decode("utf-8", errors="replace")
        if self.dropped:
            text += f"\n[... output truncated by ponder sandbox: {self.dropped} bytes dropped]"
        return text


def oom_kills() -> int | None:
    """The cgroup's OOM-kill counter (v1 or v2), or None where it cannot be read."""
    for path, key in (
        ("/sys/fs/cgroup/memory/memory.oom_control", "oom_kill"),
        ("/sys/fs/cgroup/memory.events", "oom_kill"),
    ):
        try:
            with open(path) as handle:
                for line in handle:
                    name, _, value = line.partition(" ")
                    if name == key:
                        return int(value)
        except OSError:
            continue
    return None


def kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def read_available(captures: dict[int, Capture], open_fds: set[int]) -> None:
    """Read whatever the pipes hold now (non-blocking); drop fds that reached EOF."""
    for fd in list(open_fds):
        while True:
            try:
                chunk = os.read(fd, 1 << 20)
            except BlockingIOError:
                break
            if not chunk:
                open_fds.discard(fd)
                break
            captures[fd].add(chunk)


def drain(captures: dict[int, Capture], open_fds: set[int], budget_s: float) -> None:
    """Read until every pipe is at EOF or `budget_s` is spent (writers may linger)."""
    end = time.monotonic() + budget_s
    read_available(captures, open_fds)
    while open_fds and (remaining := end - time.monotonic()) > 0:
        select.select(list(open_fds), [], [], remaining)
        read_available(captures, open_fds)


def overflowed(captures: dict[int, Capture]) -> bool:
    return any(capture.dropped for capture in captures.values())


def supervise(pid: int, captures: dict[int, Capture], limits: dict) -> dict:
    """Wait for the child with one wakeup at its exit; poll the pipes only for long jobs.

    Pipes are enlarged (see `output_pipe`) so a child rarely blocks on output; while it runs,
    the pipes are emptied every POLL_S to enforce the output cap.
    """
    started = time.monotonic()
    deadline = started + float(limits["timeout_s"])
    open_fds = set(captures)
    pidfd = os.pidfd_open(pid)
    reason, wait_status, usage = None, None, None
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                reason = "timeout"
                break
            if select.select([pidfd], [], [], min(remaining, POLL_S))[0]:
                _, wait_status, usage = os.wait4(pid, 0)
                break
            read_available(captures, open_fds)
            if overflowed(captures):
                break
    finally:
        os.close(pidfd)
    duration = time.monotonic() - started
    if wait_status is not None:  # exited: collect what it wrote (orphans get a short grace)
        drain(captures, open_fds, GRACE_AFTER_EXIT_S)
    kill_group(pid)
    if wait_status is None:
        _, wait_status, usage = os.wait4(pid, 0)
    return {
        "reason": reason,
        "wait_status": wait_status,
        "usage": usage,
        "duration_s": duration,
        "open_fds": open_fds,
    }


def output_pipe() -> tuple[int, int]:
    """A pipe as large as an unprivileged process may make it (fewer blocked writers)."""
    read_end, write_end = os.pipe()
    with contextlib.suppress(OSError, AttributeError):
        fcntl.fcntl(read_end, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    os.set_blocking(read_end, False)
    return read_end, write_end


def classify(outcome: dict, oom_before: int | None, limits: dict) -> tuple[str, int | None, str]:
    """(status, exit_code, note) from how the child ended."""
    status = outcome["wait_status"]
    oom_after = oom_kills()
    stderr_tail = bytes(outcome["captures"]["err"].data[-400:]).decode(errors="replace")
    if outcome["reason"] == "timeout":
        return "timeout", None, f"wall timeout of {limits['timeout_s']} s exceeded"
    if outcome["reason"] == "output_limit":
        return "output_limit", None, f"output exceeded {limits['output_bytes']} bytes"
    if oom_before is not None and oom_after is not None and oom_after > oom_before:
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        return "oom", code, "killed by the out-of-memory killer (container memory limit)"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        if sig == signal.SIGXCPU or (
            sig == signal.SIGKILL and cpu_spent(outcome) >= limits["cpu_s"]
        ):
            return "timeout", -sig, f"CPU limit of {limits['cpu_s']} s exceeded ({name})"
        if sig == signal.SIGXFSZ:
            return "error", -sig, f"file size limit of {limits['file_size_mb']} MB exceeded"
        return "error", -sig, f"killed by signal {name}"
    code = os.WEXITSTATUS(status)
    last = [line for line in stderr_tail.splitlines() if line.strip()][-1:]
    if code != 0 and last and last[0].startswith("MemoryError"):
        return "oom", code, f"memory limit of {limits['memory_mb']} MB exceeded (MemoryError)"
    return ("ok" if code == 0 else "error"), code, ""


def cpu_spent(outcome: dict) -> float:
    usage = outcome["usage"]
    return (usage.ru_utime + usage.ru_stime) if usage else 0.0


class Runner:
    """Serves jobs one at a time; `isolated` (in a container) enables the full sweep."""

    def __init__(self, scratch: list[str], isolated: bool, libc: Any = None) -> None:
        self.scratch = scratch
        self.libc = libc
        self.isolated = isolated
        self.me = os.getpid()
        self.dirty = False
        self.pending: str | None = None
        self.oom_score = OomScore()
        self.secret: int | None = None  # memfd of the current request's secret part
        self.report: int | None = None  # memfd the current judged job writes its verdicts to

    def handle(self, request: dict) -> dict:
        op = request.get("op")
        if op == "ping":
            return {"op": "pong", "pid": self.me, "uid": os.getuid()}
        if op != "run":
            raise ValueError(f"unknown op {op!r}")
        return self.run(request)

    def run(self, request: dict) -> dict:
        workdir = request.get("cwd") or tempfile.mkdtemp(prefix="job-", dir=self.scratch[0])
        self.pending = None if request.get("cwd") else workdir
        files = dict(request.get("files") or {})
        if request["mode"] == "judge" and (JUDGE is None or self.secret is None):
            raise ValueError("a judged job needs judge.py beside the runner and a secret part")
        if request["mode"] == "python":
            files["main.py"] = request["source"]
        write_files(workdir, files)
        return self.execute(request, workdir)

    def finish(self) -> bool:
        """After the answer went out: remove the job's files; False if something is left."""
        workdir, self.pending = self.pending, None
        return self.cleanup(workdir)

    def execute(self, request: dict, workdir: str) -> dict:
        out_r, out_w = output_pipe()
        err_r, err_w = output_pipe()
        in_fd = stdin_fd(request.get("stdin") or "")
        fds: tuple[int, ...] = (in_fd, out_w, err_w)
        if request["mode"] == "judge":
            self.report = os.memfd_create("report", os.MFD_CLOEXEC)
            fds += (self.secret, self.report)  # type: ignore[operator]
        oom_before = oom_kills()
        self.oom_score.set(1000)
        pid = os.fork()
        if pid == 0:
            child(request, workdir, fds)
        self.oom_score.set(0)
        for fd in (out_w, err_w, in_fd):
            os.close(fd)
        self.drop_secret()
        cap = int(request["limits"]["output_bytes"])
        captures = {out_r: Capture(cap), err_r: Capture(cap)}
        try:
            outcome = supervise(pid, captures, request["limits"])
            self.kill_leftovers(pid)
            drain(captures, outcome["open_fds"], budget_s=0.5)  # writers are dead now
        finally:
            os.close(out_r)
            os.close(err_r)
        if outcome["reason"] is None and overflowed(captures):
            outcome["reason"] = "output_limit"
        outcome["captures"] = {"out": captures[out_r], "err": captures[err_r]}
        status, exit_code, note = classify(outcome, oom_before, request["limits"])
        usage = outcome["usage"]
        return {
            "status": status,
            "exit_code": exit_code,
            "stdout": outcome["captures"]["out"].text(),
            "stderr": outcome["captures"]["err"].text(),
            "duration_s": round(outcome["duration_s"], 6),
            "cpu_s": round(cpu_spent(outcome), 6) if usage else None,
            "peak_memory_kb": int(usage.ru_maxrss) if usage else None,
            "note": note,
        }

    def drop_secret(self) -> None:
        if self.secret is not None:
            os.close(self.secret)
            self.secret = None

    def report_size(self) -> int:
        """Bytes of the judged job's report to send after the response (0: none)."""
        if self.report is None:
            return 0
        return min(os.fstat(self.report).st_size, MAX_REPORT)

    def send_report(self, size: int) -> None:
        fd, self.report = self.report, None
        if fd is not None:
            send_report(fd, size, 1)

    def kill_leftovers(self, pid: int) -> None:
        """Before answering: no process of the job survives (else the answer says `dirty`)."""
        kill_group(pid)
        if self.isolated and not sweep(self.me):
            self.dirty = True

    def cleanup(self, workdir: str | None) -> bool:
        """Remove the job's files (all scratch content in a container); False if anything is left."""
        if not self.isolated:
            if workdir:
                remove_tree(workdir)
            return workdir is None or not os.path.exists(workdir)
        ok = sweep(self.me)
        for root in self.scratch:
            try:
                entries = os.listdir(root)
            except OSError:
                continue
            for name in entries:
                remove_tree(os.path.join(root, name))
        remove_sysv_ipc(self.libc)
        return ok and all(not os.listdir(root) for root in self.scratch if os.path.isdir(root))


def other_pids(me: int) -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me)]


def sweep(me: int, attempts: int = 200) -> bool:
    """Kill every process but PID 1 and the runner (kill(-1) spares both); wait until gone."""
    for attempt in range(attempts):
        if not other_pids(me):
            return True
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(-1, signal.SIGKILL)
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            pass
        time.sleep(0.0005 * min(attempt + 1, 20))
    return not other_pids(me)


def remove_tree(path: str) -> None:
    """Delete a job's tree even where the job removed its own write permissions."""
    if os.path.islink(path) or not os.path.isdir(path):
        with contextlib.suppress(OSError):
            os.unlink(path)
        return
    for root, dirs, _ in os.walk(path):
        for name in dirs:
            full = os.path.join(root, name)
            try:
                if not os.path.islink(full):
                    os.chmod(full, stat.S_IRWXU)
            except OSError:
                pass
    with contextlib.suppress(OSError):
        os.chmod(path, stat.S_IRWXU)
    shutil.rmtree(path, ignore_errors=True)


def remove_sysv_ipc(libc: Any) -> None:
    """Drop System V shared memory, queues and semaphores a job left in the IPC namespace."""
    tables = (("shm", "shmctl"), ("msg", "msgctl"), ("sem", "semctl"))
    found = []
    for table, call in tables:
        try:
            with open(f"/proc/sysvipc/{table}") as handle:
                rows = handle.read().splitlines()[1:]
        except OSError:
            continue
        found += [(call, int(row.split()[1])) for row in rows if row.strip()]
    if libc is None:
        return
    for call, ident in found:
        getattr(libc, call)(ident, 0, 0, 0)  # IPC_RMID == 0


def serve(args: argparse.Namespace) -> int:
    global JUDGE
    libc = load_libc()
    runner = Runner(args.scratch or [tempfile.gettempdir()], isolated=not args.local, libc=libc)
    set_dumpable(libc, 0)  # after Runner opened its /proc/self file; Python jobs inherit this
    for name in PRELOAD:
        __import__(name)
    try:
        JUDGE = load_judge()
    except Exception:  # noqa: BLE001 - plain jobs still work; judged ones are refused
        JUDGE = None
    while True:
        try:
            request = read_request(0)
            if request is not None and request.get("secret_bytes"):
                runner.secret = secret_memfd(0, int(request["secret_bytes"]))
        except (ValueError, OSError, EOFError) as exc:
            write_response(1, {"status": "sandbox_error", "note": f"bad request: {exc}"})
            return 2
        if request is None:
            return 0
        runner.dirty = False
        try:
            response = runner.handle(request)
        except Exception as exc:  # noqa: BLE001 - reported to the host, runner keeps serving
            response = {
                "status": "sandbox_error",
                "note": f"runner: {exc!r}",
                "stderr": traceback.format_exc(),
            }
        runner.drop_secret()
        response["id"] = request.get("id")
        response["dirty"] = runner.dirty
        response["report_bytes"] = size = runner.report_size()
        write_response(1, response)
        runner.send_report(size)
        if not runner.finish():
            return 3  # leftovers that cannot be removed: exit, the host replaces this runner


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scratch", action="append", help="directory wiped after each job")
    parser.add_argument("--local", action="store_true", help="on the host: no process sweep")
    return serve(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
