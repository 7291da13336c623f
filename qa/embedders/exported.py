"""``ExportedEmbedder``: what the ONNX-export backends share.  The model is exported once to ONNX
(``qa.onnx_export``, into the per-user cache, from the verified weights) and run without torch, with
the model's own ``tokenizer.json`` and the prompts from its ``config_sentence_transformers.json``.
A subclass loads a runtime for the export (``_load_runtime``) and runs a tokenised batch (``_run``)."""

from __future__ import annotations

import json
import os

import numpy as np

from .base import ModelEmbedder


class ExportedEmbedder(ModelEmbedder):
    """The model's ONNX export (``quant``: ``fp32`` or ``int8``) run by a subclass's runtime."""

    QUANTS = ("fp32", "int8")

    def __init__(self, model: str | None = None, *, quant: str = "fp32", **kwargs):
        super().__init__(model, **kwargs)
        if quant not in self.QUANTS:
            raise ValueError(f"quant={quant!r}: allowed values are {', '.join(map(repr, self.QUANTS))}")
        self.quant = quant
        self._tokenizer = None
        self._prompt_table: dict | None = None
        self._onnx_path: str | None = None

    @property
    def onnx_path(self) -> str:
        """The export (made the first time it is asked for)."""
        if self._onnx_path is None:
            from ..onnx_export import ensure_onnx

            self._onnx_path = str(ensure_onnx(self.path, self.quant, log=self._log))
        return self._onnx_path

    def prepare(self) -> None:
        """The weights and their ONNX export."""
        self.onnx_path

    @property
    def fingerprint_suffix(self) -> str:
        from ..onnx_export import EXPORT_VERSION

        return f"{EXPORT_VERSION}-{self.backend}"

    # -- what a runtime provides
    def _load_runtime(self):
        raise NotImplementedError

    def _run(self, runtime, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # -- shared
    def _load(self):
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(os.path.join(self.path, "tokenizer.json"))
        tok.enable_truncation(max_length=self._max_len())
        pad = tok.token_to_id("<pad>")
        tok.enable_padding(pad_id=0 if pad is None else pad, pad_token="<pad>")
        self._tokenizer = tok
        return self._load_runtime()

    def _max_len(self) -> int:
        try:
            with open(os.path.join(self.path, "sentence_bert_config.json"), encoding="utf-8") as f:
                return int(json.load(f).get("max_seq_length") or 2048)
        except (OSError, ValueError):
            return 2048

    def _prompts(self) -> dict:
        if self._prompt_table is None:
            try:
                with open(os.path.join(self.path, "config_sentence_transformers.json"), encoding="utf-8") as f:
                    self._prompt_table = json.load(f).get("prompts") or {}
            except (OSError, ValueError):
                self._prompt_table = {}
        return self._prompt_table

    def _forward(self, batch: list[str]) -> np.ndarray:
        runtime = self.model  # loaded with the tokenizer
        enc = self._tokenizer.encode_batch(batch)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        return self._run(runtime, ids, mask)
