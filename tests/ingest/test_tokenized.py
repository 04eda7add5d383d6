"""An embedder that takes token ids (``TokenizedDocuments``) gets each batch tokenized in the
prepare stage, while the batch before is being embedded, and gives the same vectors."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from simatch.domain.ports import TokenizedDocuments, Vector
from simatch.domain.query import Query
from simatch.embeddings.fake import FakeEmbedder
from simatch.ingest.pipeline import FIRST_BATCH, IngestSettings
from simatch.ingest.readers import read_path
from tests.conftest import ContainerFactory
from tests.ingest.test_pipeline import GOOD, write_jsonl


class TokenizingFake(FakeEmbedder):
    """The fake model in two steps; remembers which thread did which step."""

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[tuple[str, str]] = []

    def document_tokens(self, texts: Sequence[str]) -> list[list[list[int]]]:
        self.steps.append(("tokens", threading.current_thread().name))
        return [[[ord(c) for c in text]] for text in texts]

    def embed_document_tokens(self, tokens: Sequence[Sequence[list[int]]]) -> Vector:
        self.steps.append(("embed", threading.current_thread().name))
        texts = ["".join(chr(c) for c in windows[0]) for windows in tokens]
        return super().embed_documents(texts)

    def embed_documents(self, texts: Sequence[str]) -> Vector:
        self.steps.append(("texts", threading.current_thread().name))
        return super().embed_documents(texts)


def test_tokens_are_made_while_reading_and_embedded_in_the_embed_stage(
    tmp_path: Path, make_container: ContainerFactory
) -> None:
    embedder = TokenizingFake()
    assert isinstance(embedder, TokenizedDocuments)
    assert not isinstance(FakeEmbedder(), TokenizedDocuments)
    box = make_container(embedder=embedder)
    box.ingestor.settings = IngestSettings(batch_size=2)
    rows = read_path(write_jsonl(tmp_path / "good.jsonl", GOOD))
    report = box.ingestor.ingest(rows)
    assert report.added == len(GOOD) and report.embedded == len(GOOD)
    reader = threading.current_thread().name
    steps = sorted(step for step, _ in embedder.steps)
    assert steps == ["embed", "embed", "tokens", "tokens"]  # two batches, never from texts
    assert all(thread == reader for step, thread in embedder.steps if step == "tokens")
    assert all(thread != reader for step, thread in embedder.steps if step == "embed")
    # What the fake's two steps embed is what it embeds in one.
    found = box.matcher.match(Query("Nuorisotila kylälle", limit=1)).solutions
    assert found and found[0].id == "i1"


class WaitingFake(TokenizingFake):
    """Holds the first model call until a second one has started (or 10 s have passed)."""

    def __init__(self) -> None:
        super().__init__()
        self.sizes: list[int] = []
        self.second_started = threading.Event()
        self.waited_for_second: bool | None = None

    def document_tokens(self, texts: Sequence[str]) -> list[list[list[int]]]:
        self.sizes.append(len(texts))
        return super().document_tokens(texts)

    def embed_document_tokens(self, tokens: Sequence[Sequence[list[int]]]) -> Vector:
        first = self.waited_for_second is None
        if first:
            self.waited_for_second = False
            self.waited_for_second = self.second_started.wait(timeout=10)
        else:
            self.second_started.set()
        return super().embed_document_tokens(tokens)


def test_the_next_batch_goes_to_the_model_before_the_last_is_written(
    tmp_path: Path, make_container: ContainerFactory
) -> None:
    """The model's workers should not idle at the end of each batch: a second model call
    starts while the first is still running, and the first batch is cut short so that the
    model starts early. Every record still gets its own vector."""
    embedder = WaitingFake()
    box = make_container(embedder=embedder)
    box.ingestor.settings = IngestSettings(batch_size=24)
    records = [
        {**GOOD[0], "id": f"r{n}", "title": f"Kylä {n}", "summary": f"Nuorten tila numero {n}."}
        for n in range(40)
    ]
    records[33] = {**GOOD[0], "id": "r33", "title": "Omaishoitajien vertaisryhmä"}
    report = box.ingestor.ingest(read_path(write_jsonl(tmp_path / "many.jsonl", records)))
    assert report.added == 40 and report.embedded == 40
    assert embedder.sizes == [FIRST_BATCH, 40 - FIRST_BATCH]
    assert embedder.waited_for_second is True
    found = box.matcher.match(Query("Omaishoitajien vertaisryhmä", limit=1)).solutions
    assert found and found[0].id == "r33"
