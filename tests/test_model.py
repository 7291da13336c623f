"""The local model copy: the bf16 load copy of float32 weights (no real model needed)."""

import json

import pytest

torch = pytest.importorskip("torch")
from safetensors.torch import load_file, save_file  # noqa: E402

from qa.model import bf16_copy  # noqa: E402


@pytest.fixture
def fake_model(tmp_path, monkeypatch):
    monkeypatch.setenv("QA_CACHE_DIR", str(tmp_path / "cache"))
    src = tmp_path / "model"
    (src / "2_Dense").mkdir(parents=True)
    g = torch.Generator().manual_seed(0)
    save_file({"embed.weight": torch.randn(64, 8, generator=g), "layer.bias": torch.randn(32, generator=g),
               "odd.scale": torch.randn(3, generator=g)},
              str(src / "model.safetensors"))
    save_file({"linear.weight": torch.randn(8, 8, generator=g)}, str(src / "2_Dense" / "model.safetensors"))
    (src / "config.json").write_text('{"hidden_size": 8}', encoding="utf-8")
    (src / ".verified.json").write_text("{}", encoding="utf-8")
    return src


def test_bf16_copy_holds_the_cast_weights_and_everything_else(fake_model):
    out = bf16_copy(str(fake_model), log=lambda *_: None)
    assert out is not None and out != str(fake_model)
    orig, copy = load_file(str(fake_model / "model.safetensors")), load_file(f"{out}/model.safetensors")
    assert set(copy) == set(orig)
    for k, v in orig.items():
        assert copy[k].dtype == torch.bfloat16 and torch.equal(copy[k], v.to(torch.bfloat16))
    assert (fake_model / "config.json").read_bytes() == open(f"{out}/config.json", "rb").read()
    dense = load_file(f"{out}/2_Dense/model.safetensors")  # other modules are copied as they are
    assert dense["linear.weight"].dtype == torch.float32
    assert not list((fake_model.parent / "cache" / "models" / "bf16").glob(".bf16-*"))  # no temp folder left
    raw = open(f"{out}/model.safetensors", "rb").read()  # tensors start on 64-byte boundaries; one whose
    n = int.from_bytes(raw[:8], "little")  # size is not a multiple of 64 goes last
    header = json.loads(raw[8:8 + n])
    starts = sorted((v["data_offsets"][0], k) for k, v in header.items() if k != "__metadata__")
    assert starts[-1][1] == "odd.scale" and all((8 + n + x) % 64 == 0 for x, _ in starts)
    # made once: a second call reuses it
    mtime = (fake_model.parent / out / "model.safetensors").stat().st_mtime_ns
    assert bf16_copy(str(fake_model), log=lambda *_: None) == out
    assert (fake_model.parent / out / "model.safetensors").stat().st_mtime_ns == mtime


def test_no_copy_for_weights_already_in_bf16_or_a_hub_id(fake_model, tmp_path):
    half = tmp_path / "half"
    half.mkdir()
    save_file({"w": torch.ones(4, 4, dtype=torch.bfloat16)}, str(half / "model.safetensors"))
    assert bf16_copy(str(half)) is None
    assert bf16_copy("google/embeddinggemma-300m-not-a-folder") is None
