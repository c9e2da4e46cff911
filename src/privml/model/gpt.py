"""A tiny GPT-style causal language model that Opacus can train privately.

Design choices, all for DP-SGD with per-sample gradients:
- untied input and output embeddings (Opacus cannot compute per-sample gradients for tied
  weights), and positions from an ``nn.Embedding`` rather than a bare ``nn.Parameter``;
- attention built from ``nn.Linear`` layers, so Opacus's hand-written Linear sampler applies;
- the input of one privacy unit is a block of ``k`` messages, shape ``(k, L)``, so a batch is
  ``(B, k, L)``. Every parametrised layer sees ``(B, k*L, ...)``: its per-sample gradient is then
  the gradient of the whole unit (one user, or one message in example-level DP). Attention
  reshapes to ``(B*k, L)`` internally so messages never attend to each other.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int
    d_model: int = 128
    n_layers: int = 2
    n_heads: int = 4
    context: int = 48
    dropout: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        if cfg.d_model % cfg.n_heads:
            raise ValueError("model.d_model must be divisible by model.n_heads")
        self.n_heads = cfg.n_heads
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)

    def forward(self, x: torch.Tensor, k: int) -> torch.Tensor:
        b, kl, d = x.shape
        length = kl // k
        h = self.n_heads
        q, key, v = self.qkv(x).view(b * k, length, 3, h, d // h).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, key, v, is_causal=True)
        y = y.transpose(1, 2).reshape(b, kl, d)
        return self.proj(y)


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.attn = CausalSelfAttention(cfg)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.fc = nn.Linear(cfg.d_model, 4 * cfg.d_model)
        self.out = nn.Linear(4 * cfg.d_model, cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, k: int) -> torch.Tensor:
        x = x + self.drop(self.attn(self.ln1(x), k))
        return x + self.drop(self.out(F.gelu(self.fc(self.ln2(x)))))


class TinyGPT(nn.Module):
    """Decoder-only transformer. ``forward(tokens[B, k, L]) -> logits[B, k, L, V]``."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos_emb = nn.Embedding(cfg.context, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.head = nn.Linear(cfg.d_model, cfg.vocab_size)
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, nn.Linear | nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.dim() == 2:
            tokens = tokens.unsqueeze(1)
        b, k, length = tokens.shape
        if length > self.cfg.context:
            raise ValueError(f"sequence length {length} exceeds model.context {self.cfg.context}")
        # contiguous ids: Opacus's ghost-clipping embedding norm views them flat
        flat = tokens.reshape(b, k * length).contiguous()
        pos = torch.arange(length, device=tokens.device).repeat(k).expand(b, -1).contiguous()
        x = self.tok_emb(flat) + self.pos_emb(pos)
        for block in self.blocks:
            x = block(x, k)
        return self.head(self.ln_f(x)).view(b, k, length, -1)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
