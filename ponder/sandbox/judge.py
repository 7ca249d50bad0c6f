"""The judge: test code runs here; the candidate's functions run in a separate process.

Pure standard library (copied into the sandbox image beside runner.py). The runner forks a job
child that calls `main`: it forks the candidate's process *before* it reads anything secret,
then reads the tests from fd 3 (a memfd the candidate never holds) and writes the verdicts to
fd 4 (another). The candidate's process loads the solution and serves calls over a socketpair;
arguments and return values cross as plain data (`codec`), so no object the candidate defines
ever reaches the judge. The judge is non-dumpable (inherited from the runner): a same-uid
process without CAP_SYS_PTRACE can neither ptrace it nor open its /proc memory, environ or fds.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import json
import linecache
import os
import re
import select
import signal
import socket
import struct
import symtable
import sys
import time
import traceback
import types

try:
    import ponder_codec as codec  # in the sandbox: loaded by the runner from codec.py
except ImportError:  # on the host (tests, local deployment)
    from ponder.sandbox import codec

SECRET_FD = 3
NO_IMPORT = frozenset({"this", "antigravity"})  # stdlib modules with side effects on import
REPORT_FD = 4
HEADER = struct.Struct(">I")
MAX_MESSAGE = 64 * 1024 * 1024
TEXT_CAP = 2000
# Signals a candidate could send the judge (same uid) to disturb it; SIGKILL/SIGSTOP remain,
# and they end in failures (no verdicts, or a timeout).
IGNORED = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGPIPE", "SIGTSTP",
           "SIGTTIN", "SIGTTOU", "SIGXCPU", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGURG")  # fmt: skip
# Exceptions the candidate may raise that the judge re-raises as themselves (tests expect some);
# any other type becomes SolutionError, so nothing steers control flow (StopIteration, SystemExit).
RERAISED = {
    name: getattr(builtins, name)
    for name in [
        "ArithmeticError",
        "AssertionError",
        "AttributeError",
        "BufferError",
        "EOFError",
        "FloatingPointError",
        "ImportError",
        "IndexError",
        "KeyError",
        "LookupError",
        "MemoryError",
        "ModuleNotFoundError",
        "NameError",
        "NotImplementedError",
        "OSError",
        "OverflowError",
        "RecursionError",
        "ReferenceError",
        "RuntimeError",
        "TypeError",
        "UnboundLocalError",
        "UnicodeError",
        "ValueError",
        "ZeroDivisionError",
        "Exception",
    ]
}


class SolutionError(Exception):
    """An exception of a type the judge does not re-raise as itself (named in the message)."""


class SolutionFault(BaseException):  # noqa: N818 - BaseException: a test's `except Exception` cannot swallow it
    """The candidate's process timed out, died or broke the protocol: the test fails."""


class JudgeTimeout(BaseException):  # noqa: N818
    """The test itself ran past its time (judge-side)."""


def frame(payload: bytes) -> bytes:
    return HEADER.pack(len(payload)) + payload


def recv_exactly(sock: socket.socket, n: int, deadline: float | None) -> bytes | None:
    """n bytes from `sock`, None at EOF; raises TimeoutError past `deadline`."""
    chunks, need = [], n
    while need:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([sock], [], [], remaining)[0]:
                raise TimeoutError
        chunk = sock.recv(min(need, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        need -= len(chunk)
    return b"".join(chunks)


def recv_message(sock: socket.socket, deadline: float | None) -> bytes | None:
    head = recv_exactly(sock, HEADER.size, deadline)
    if head is None:
        return None
    (size,) = HEADER.unpack(head)
    if size > MAX_MESSAGE:
        raise ValueError(f"message of {size} bytes exceeds {MAX_MESSAGE}")
    return recv_exactly(sock, size, deadline)


def describe_exception(exc: BaseException, keep: str) -> dict:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(keep)]
    text = "".join(traceback.format_list(frames[-6:]))
    text += "".join(traceback.format_exception_only(type(exc), exc))
    return {
        "type": type(exc).__name__,
        "message": str(exc)[:500],
        "traceback": text[-TEXT_CAP:],
    }


# ------------------------------------------------------------------ the candidate's process


class _Sink(io.StringIO):
    """Swallows what the solution prints during calls (kept small: a flood cannot grow memory)."""

    def write(self, text: str) -> int:
        if self.tell() < 4096:
            super().write(text[:4096])
        return len(text)


def candidate_main(source: str, sock: socket.socket) -> None:
    """Load the solution as module `solution`, then answer calls until the judge hangs up."""
    keep = sock.fileno()  # above REPORT_FD: fds 0-4 were open when the socketpair was made
    os.closerange(3, keep)  # the secret and report memfds are gone before solution code runs
    os.closerange(keep + 1, 1 << 16)
    module = types.ModuleType("solution")
    module.__file__ = "solution.py"
    sys.modules["solution"] = module
    linecache.cache["solution.py"] = (len(source), None, source.splitlines(True), "solution.py")
    try:
        exec(compile(source, "solution.py", "exec"), module.__dict__)
        names = [n for n, v in module.__dict__.items() if _exported(n, v)]
        hello = {"ready": names}
    except BaseException as exc:  # noqa: BLE001 - reported as the load error
        hello = {"load_error": describe_exception(exc, "solution.py")}
    _flush()
    sock.sendall(frame(json.dumps(hello).encode()))
    if "ready" in hello:
        serve_calls(sock, module.__dict__)
    os._exit(0)


def _exported(name: str, value: object) -> bool:
    return not name.startswith("__") and callable(value) and not isinstance(value, types.ModuleType)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.flush()


def serve_calls(sock: socket.socket, namespace: dict) -> None:
    while True:
        message = recv_message(sock, None)
        if message is None:
            return
        request = json.loads(message)
        sys.stdout = sys.stderr = _Sink()
        try:
            reply = answer_call(namespace, request)
        finally:
            sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        sock.sendall(frame(reply))


def answer_call(namespace: dict, request: dict) -> bytes:
    try:
        function = namespace[request["call"]]
        args = codec.decode(request["args"])
        kwargs = codec.decode(request["kwargs"])
        value = function(*args, **kwargs)
    except BaseException as exc:  # noqa: BLE001 - the candidate's exception, reported
        return json.dumps({"raise": describe_exception(exc, "solution.py")}).encode()
    try:
        return json.dumps({"ok": codec.encode(value)}, separators=(",", ":")).encode()
    except BaseException as exc:  # noqa: BLE001 - includes CodecError and RecursionError
        return json.dumps({"bad": f"{type(exc).__name__}: {str(exc)[:300]}"}).encode()


# ------------------------------------------------------------------ the judge's side


class Link:
    """The judge's end of the candidate's socket: calls with deadlines, faults remembered."""

    def __init__(self, sock: socket.socket, pid: int) -> None:
        self.sock = sock
        self.pid = pid
        self.deadline: float | None = None
        self.per_test_s = 0.0
        self.gone = ""  # why the candidate's process can no longer answer
        self.fault = ""  # set during a test: that test fails whatever it caught

    def hello(self, deadline: float) -> dict:
        try:
            message = recv_message(self.sock, deadline)
            reply = json.loads(message) if message is not None else None
        except TimeoutError:
            self.kill("took longer than the time limit while loading")
            return {"load_error": {"type": "Timeout", "message": self.gone, "traceback": ""}}
        except (ValueError, RecursionError):
            reply = None
        if not isinstance(reply, dict) or not _valid_hello(reply):
            self.kill(self.exit_reason("before the tests ran"))
            return {"load_error": {"type": "ProcessEnded", "message": self.gone, "traceback": ""}}
        return reply

    def call(self, name: str, args: tuple, kwargs: dict) -> object:
        if self.gone:
            self.fault = self.fault or self.gone
            raise SolutionFault(self.gone)
        try:
            request = {
                "call": name,
                "args": codec.encode(list(args)),
                "kwargs": codec.encode(kwargs),
            }
        except codec.CodecError as exc:
            raise TypeError(f"argument to {name} cannot cross to the solution: {exc}") from None
        try:
            self.sock.sendall(frame(json.dumps(request, separators=(",", ":")).encode()))
            message = recv_message(self.sock, self.deadline)
        except TimeoutError:
            self.fail(f"{name}() took longer than the time limit of {self.per_test_s:g}s per test")
        except BaseException as exc:  # noqa: BLE001 - EOF, broken pipe, the judge's own alarm
            self.fail(self.exit_reason(f"during {name}()"), exc)
        if message is None:
            self.fail(self.exit_reason(f"during {name}()"))
        return self.unpack(name, message)

    def unpack(self, name: str, message: bytes) -> object:
        try:
            reply = json.loads(message)
            if not isinstance(reply, dict) or len(reply) != 1:
                raise codec.CodecError("not a one-key object")
            if "ok" in reply:
                return codec.decode(reply["ok"])
        except (codec.CodecError, ValueError, RecursionError) as exc:
            self.fail(f"{name}() answered with a malformed value: {str(exc)[:200]}")
        if "bad" in reply:
            self.fault = f"{name}() returned a value that cannot cross to the judge: {reply['bad']}"
            raise SolutionFault(self.fault)
        if "raise" in reply and isinstance(reply["raise"], dict):
            raise solution_exception(reply["raise"])
        self.fail(f"{name}() answered with an unknown message")

    def fail(self, why: str, cause: BaseException | None = None) -> None:
        self.kill(why)
        self.fault = why
        if isinstance(cause, JudgeTimeout):
            raise cause
        raise SolutionFault(why)

    def kill(self, why: str) -> None:
        self.gone = self.gone or why
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)
        self.sock.close()

    def exit_reason(self, when: str) -> str:
        pid, status = 0, 0
        for _ in range(50):  # EOF comes as it exits; its status a moment later
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                break
            if pid:
                break
            time.sleep(0.002)
        if pid and os.WIFSIGNALED(status):
            how = f"killed by signal {signal.Signals(os.WTERMSIG(status)).name}"
        elif pid:
            how = f"exit {os.WEXITSTATUS(status)}"
        else:
            how = "it stopped answering"
        return f"the solution's process ended {when} ({how})"


def _valid_hello(reply: dict) -> bool:
    if "ready" in reply:
        return isinstance(reply["ready"], list) and all(isinstance(n, str) for n in reply["ready"])
    return isinstance(reply.get("load_error"), dict)


def solution_exception(info: dict) -> BaseException:
    kind = str(info.get("type", "Exception"))[:100]
    message = str(info.get("message", ""))[:500]
    cls = RERAISED.get(kind)
    exc = cls(message) if cls is not None else SolutionError(f"{kind}: {message}")
    exc.solution_traceback = str(info.get("traceback", ""))[-TEXT_CAP:]  # type: ignore[attr-defined]
    return exc


class Remote:
    """A function of the solution, called across the process boundary."""

    __slots__ = ("_link", "__name__")

    def __init__(self, link: Link, name: str) -> None:
        self._link = link
        self.__name__ = name

    def __call__(self, *args: object, **kwargs: object) -> object:
        return self._link.call(self.__name__, args, kwargs)

    def __repr__(self) -> str:
        return f"<solution function {self.__name__}>"


class Report:
    """Verdict records on fd 4, one JSON line each, the job's nonce first."""

    def __init__(self, fd: int, nonce: str) -> None:
        self.fd = fd
        self.write({"nonce": nonce})

    def write(self, record: dict) -> None:
        data = memoryview((json.dumps(record) + "\n").encode())
        while data:
            data = data[os.write(self.fd, data) :]


def main(source: str) -> int:
    """The job child's work: fork the candidate, then judge it. Returns the exit code."""
    judge_end, candidate_end = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        judge_end.close()
        try:
            candidate_main(source, candidate_end)
        finally:
            os._exit(0)
    candidate_end.close()
    quiet()
    spec = json.loads(read_all(SECRET_FD))
    os.close(SECRET_FD)
    report = Report(REPORT_FD, spec["nonce"])
    link = Link(judge_end, pid)
    per_test_s = link.per_test_s = float(spec["per_test_s"])
    hello = link.hello(time.monotonic() + per_test_s)
    report.write({"load": hello.get("load_error")})
    if "ready" in hello:
        namespace = judge_namespace(spec, hello["ready"], link)
        run_tests(spec["tests"], namespace, link, per_test_s, report)
    report.write({"end": True})
    link.kill("finished")
    return 0


def quiet() -> None:
    """The judge prints nothing (its output would reach the runner, and the next job's heap)."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    sys.stdout = sys.stderr = io.StringIO()
    # blocked, never delivered (one call instead of a handler each: this runs on every job)
    signal.pthread_sigmask(signal.SIG_BLOCK, {getattr(signal, name) for name in IGNORED})


def read_all(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def judge_namespace(spec: dict, exported: list[str], link: Link) -> dict:
    """Globals for the tests: the prompt's helpers, stdlib modules they name, then the solution's
    functions (never shadowing a builtin or a helper, except the entry point itself)."""
    namespace: dict = {"__name__": "__ponder_tests__", "__builtins__": builtins}
    helpers = spec.get("helpers") or ""
    for index, statement in enumerate(helper_statements(helpers)):
        try:
            exec(compile(statement, f"helpers_{index}.py", "exec"), namespace)
        except Exception:  # noqa: BLE001, S112 - a helper that fails to define is left out
            continue
    for name in referenced_names(spec["tests"]):
        if name in sys.stdlib_module_names and name not in namespace and name not in NO_IMPORT:
            with contextlib.suppress(ImportError):
                namespace[name] = __import__(name)
    module = types.ModuleType("solution")  # `from solution import f` in a test file
    for name in exported:
        setattr(module, name, Remote(link, name))
        if name not in namespace and not hasattr(builtins, name):
            namespace[name] = Remote(link, name)
    sys.modules["solution"] = module
    entry = spec.get("entry_point")
    if entry:
        namespace[entry] = Remote(link, entry)
    return namespace


def helper_statements(prompt: str) -> list[str]:
    """Imports and non-stub definitions of a prompt (HumanEval/32's `poly`), as sources."""
    try:
        tree = ast.parse(prompt)
    except (SyntaxError, ValueError):
        return []
    keep = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef, ast.Assign)
    out = []
    for node in tree.body:
        if isinstance(node, keep) and not (isinstance(node, ast.FunctionDef) and _stub(node)):
            out.append(ast.unparse(node))
    return out


def _stub(node: ast.FunctionDef) -> bool:
    """A body of only a docstring, `pass` or `...`: the solution must supply it."""
    return all(
        isinstance(s, ast.Pass) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
        for s in node.body
    )


def referenced_names(tests: list[str]) -> set[str]:
    """Names the tests read as globals without defining them (candidates for stdlib imports)."""
    names: set[str] = set()
    for test in tests:
        if sys.stdlib_module_names.isdisjoint(re.findall(r"[A-Za-z_]\w*", test)):
            continue  # no module name at all: skip the symbol table (most tests)
        try:
            tables = [symtable.symtable(test, "test", "exec")]
        except (SyntaxError, ValueError):
            continue
        while tables:
            table = tables.pop()
            top = table.get_type() == "module"
            for symbol in table.get_symbols():
                free = not (symbol.is_assigned() or symbol.is_imported()) if top else True
                if symbol.is_referenced() and symbol.is_global() and free:
                    names.add(symbol.get_name())
            tables.extend(table.get_children())
    return names


def _alarm(signum: int, frame: object) -> None:
    raise JudgeTimeout


def run_tests(tests: list, namespace: dict, link: Link, per_test_s: float, report: Report) -> None:
    signal.signal(signal.SIGALRM, _alarm)
    for index, source in enumerate(tests):
        name = f"test_{index}.py"
        linecache.cache[name] = (len(source), None, source.splitlines(True), name)
        link.fault = ""
        link.deadline = time.monotonic() + per_test_s
        error = None
        try:
            code = compile(source, name, "exec")
            signal.setitimer(signal.ITIMER_REAL, per_test_s + 0.5)
            try:
                exec(code, namespace)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except JudgeTimeout:
            error = {"type": "Timeout", "message": f"took longer than {per_test_s:g}s",
                     "traceback": ""}  # fmt: skip
        except BaseException as exc:  # noqa: BLE001 - every failure is a verdict
            error = describe_exception(exc, "test_")
            extra = getattr(exc, "solution_traceback", "")
            if extra:
                error["traceback"] = (error["traceback"] + "in the solution:\n" + extra)[-TEXT_CAP:]
        if link.fault and (error is None or error["type"] != "Timeout"):
            kind = "Timeout" if "time limit" in link.fault else "SolutionFault"
            frames = (error or {}).get("traceback", "").split("\n")
            frames = [line for line in frames if "SolutionFault" not in line and line]
            error = {
                "type": kind,
                "message": link.fault,
                "traceback": "\n".join(frames + [f"{kind}: {link.fault}"]) + "\n",
            }
        report.write({"test": index, "passed": error is None, "error": error})
        if error is not None and error["type"] == "Timeout":
            break  # the solution likely loops; do not spend per_test_s on every test
