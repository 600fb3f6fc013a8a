"""Export a PEFT LoRA adapter as a GGUF LoRA that llama.cpp loads next to its base model.

Follows llama.cpp's ``convert_lora_to_gguf.py``: KV ``general.type = "adapter"``,
``adapter.type = "lora"``, ``adapter.lora.alpha``; one ``.lora_a`` / ``.lora_b`` tensor pair
per adapted weight, named after the base GGUF's tensor (``blk.3.attn_q.weight.lora_a``).
PEFT's ``lora_A`` (rank x in) and ``lora_B`` (out x rank) are written as they are: gguf-py
reverses numpy dimensions, giving the ``ne`` layout llama.cpp checks against the base weight.
Gemma's conversion quirks (norm + 1, no q/k permutation) touch no linear weight, so none apply.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from plait.errors import PlaitError

HF_TO_GGUF = {
    "q_proj": "attn_q", "k_proj": "attn_k", "v_proj": "attn_v", "o_proj": "attn_output",
    "gate_proj": "ffn_gate", "up_proj": "ffn_up", "down_proj": "ffn_down",
}
"""PEFT target module -> llama.cpp tensor name inside ``blk.N``."""
_LORA_NAME = re.compile(r"layers\.(\d+)\.(?:self_attn|mlp)\.(\w+)\.lora_([AB])(?:\.\w+)?\.weight$")


def gguf_tensor_name(hf_name: str) -> str:
    """Map a PEFT tensor name to its GGUF LoRA name.

    Example:
        >>> gguf_tensor_name("base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight")
        'blk.3.attn_q.weight.lora_a'
    """
    match = _LORA_NAME.search(hf_name)
    if not match or match.group(2) not in HF_TO_GGUF:
        raise PlaitError(f"Cannot export LoRA tensor {hf_name!r} to GGUF: only the linear layers "
                         f"{', '.join(HF_TO_GGUF)} are supported. Train with target_modules among those.")
    layer, module, part = match.groups()
    return f"blk.{layer}.{HF_TO_GGUF[module]}.weight.lora_{part.lower()}"


def _peft_tensors(peft: str | Path | Any) -> tuple[dict[str, np.ndarray], float | None]:
    """Return PEFT LoRA tensors and ``lora_alpha`` from a saved folder or a live PeftModel."""
    if isinstance(peft, str | Path):
        from safetensors.numpy import load_file

        folder = Path(peft)
        weights, config = folder / "adapter_model.safetensors", folder / "adapter_config.json"
        if not weights.is_file() or not config.is_file():
            raise PlaitError(f"{folder} is not a saved PEFT adapter (no adapter_model.safetensors / "
                             "adapter_config.json). Pass the folder written by PeftModel.save_pretrained.")
        alpha = json.loads(config.read_text(encoding="utf-8")).get("lora_alpha")
        return {k: v.astype(np.float32) for k, v in load_file(weights).items()}, alpha
    from peft import get_peft_model_state_dict

    state = get_peft_model_state_dict(peft)
    alpha = peft.peft_config[peft.active_adapter].lora_alpha
    return {k: v.detach().float().cpu().numpy() for k, v in state.items()}, alpha


def _base_shapes(base_gguf: str | Path) -> tuple[str, dict[str, tuple[int, ...]]]:
    from gguf import GGUFReader

    reader = GGUFReader(str(base_gguf))
    field = reader.fields["general.architecture"]
    arch = bytes(field.parts[field.data[0]]).decode("utf-8")
    return arch, {t.name: tuple(int(n) for n in t.shape) for t in reader.tensors}


def _check_shapes(tensors: Mapping[str, np.ndarray], shapes: Mapping[str, tuple[int, ...]]) -> None:
    for name, array in tensors.items():
        base_name, part = name.rsplit(".", 1)
        if base_name not in shapes:
            raise PlaitError(f"The base GGUF has no tensor {base_name!r} for LoRA tensor {name!r}: the adapter "
                             "was trained on another model. Retrain it on this base.")
        n_in, n_out = shapes[base_name][:2]  # ggml ne order: (in, out)
        want = array.shape[1] if part == "lora_a" else array.shape[0]
        if want != (n_in if part == "lora_a" else n_out):
            raise PlaitError(f"LoRA tensor {name!r} has shape {array.shape}, which does not fit base weight "
                             f"{base_name!r} (in={n_in}, out={n_out}). Retrain the adapter on this base.")


def export_gguf_lora(peft: str | Path | Any, out_path: str | Path, *, base_gguf: str | Path,
                     alpha: float | None = None, half: bool = False) -> Path:
    """Write ``peft`` (a saved PEFT folder or a PeftModel) as a llama.cpp GGUF LoRA at ``out_path``.

    ``alpha`` defaults to the adapter's ``lora_alpha``; ``base_gguf`` is the model it will be
    applied to, whose architecture and tensor shapes are checked. ``half=True`` stores float16
    tensors (half the size, for adapters shipped in a package).

    Example:
        >>> export_gguf_lora(".plait/adapters/intents/peft", ".plait/adapters/intents/adapter.gguf",
        ...                  base_gguf=gemma_270m_path())  # doctest: +SKIP
    """
    import gguf

    hf_tensors, saved_alpha = _peft_tensors(peft)
    alpha = alpha if alpha is not None else saved_alpha
    if alpha is None or not hf_tensors:
        raise PlaitError("No LoRA weights or lora_alpha found to export; export a LoRA adapter (prompt-tuning "
                         "adapters have no GGUF form and run through the transformers fallback).")
    tensors = {gguf_tensor_name(k): v for k, v in sorted(hf_tensors.items())}
    arch, shapes = _base_shapes(base_gguf)
    _check_shapes(tensors, shapes)
    out = Path(out_path)
    tmp = out.with_name(f"{out.name}.{os.getpid()}.partial")
    writer = gguf.GGUFWriter(str(tmp), arch=arch)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(alpha))
    for name, array in tensors.items():
        writer.add_tensor(name, np.ascontiguousarray(array, dtype=np.float16 if half else np.float32))
    try:
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.replace(tmp, out)  # llama.cpp never sees a half-written adapter
    finally:
        tmp.unlink(missing_ok=True)
    return out
