"""The encoder's forward pass as one TorchScript function.

Why scripted: called op by op from Python, each of the ~150 torch calls of a forward pass
gives the GIL back and must win it again. Under a busy server (an event loop and other
requests running Python) every re-acquisition waits for the switch interval, and one
query took 2.3 s instead of 17 ms in a test with one competing Python thread. Scripted,
the pass runs in torch's interpreter; with a short switch interval (``simatch serve``
sets it) the same test takes 17 ms. Imported only when the torch runtime loads.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import torch


def encode(
    x: torch.Tensor,
    keep: torch.Tensor,
    masked: bool,
    embedding_norm: list[torch.Tensor],
    layers: list[list[torch.Tensor]],
    heads: int,
    eps: float,
    wdtype: torch.dtype,
) -> torch.Tensor:
    """Mean-pooled last hidden states [batch, hidden] of summed input embeddings x [b, l, h].

    ``keep`` [b, l] is 1.0 on real tokens and 0.0 on padding; ``masked`` says whether any
    padding exists. Each layer is [qkv_w, qkv_b, ao_w, ao_b, aln_w, aln_b, fi_w, fi_b, fo_w,
    fo_b, oln_w, oln_b], matrices in ``wdtype`` (GEMMs), norms in float32.
    """
    b, length, h = x.size(0), x.size(1), x.size(2)
    hd = h // heads
    x = torch.nn.functional.layer_norm(x, [h], embedding_norm[0], embedding_norm[1], eps)
    mask: torch.Tensor | None = None
    if masked:
        mask = (keep > 0.5)[:, None, None, :]
    for ly in layers:
        qkv = torch.nn.functional.linear(x.to(wdtype), ly[0], ly[1]).float()
        qkv = qkv.view(b, length, 3, heads, hd).permute(2, 0, 3, 1, 4)
        ctx = torch.nn.functional.scaled_dot_product_attention(
            qkv[0], qkv[1], qkv[2], attn_mask=mask
        )
        ctx = ctx.transpose(1, 2).reshape(b, length, h)
        attended = torch.nn.functional.linear(ctx.to(wdtype), ly[2], ly[3]).float()
        x = torch.nn.functional.layer_norm(x + attended, [h], ly[4], ly[5], eps)
        mid = torch.nn.functional.linear(x.to(wdtype), ly[6], ly[7]).float()
        mid = torch.nn.functional.gelu(mid)
        out = torch.nn.functional.linear(mid.to(wdtype), ly[8], ly[9]).float()
        x = torch.nn.functional.layer_norm(x + out, [h], ly[10], ly[11], eps)
    weights = keep[:, :, None]
    return (x * weights).sum(1) / weights.sum(1)


@functools.cache
def scripted() -> Any:
    # Deprecated in favour of torch.compile/export, which need a compiler toolchain and
    # seconds to minutes of compilation per shape; scripting works in the pinned torch.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "`torch.jit.script` is deprecated", DeprecationWarning)
        return torch.jit.script(encode)
