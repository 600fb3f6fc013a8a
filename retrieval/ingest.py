"""Ingest files and folders into a Chroma collection, idempotently.

Chunk ids derive from the source path and the chunk's content, so re-ingesting an unchanged
file writes nothing, a changed file has its stale chunks replaced, and ``prune`` removes the
chunks of files that no longer exist. Unreadable files are reported and skipped.

Example:
    >>> from plait.retrieval import ingest, vector_store
    >>> report = ingest(["docs/helpcentre"], store=vector_store("helpcentre"))  # doctest: +SKIP
    >>> report.chunks_added  # doctest: +SKIP
    112
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plait.retrieval.errors import IngestError
from plait.retrieval.loaders import SUPPORTED, load_sections
from plait.retrieval.units import CHUNK_TOKENS, OVERLAP_TOKENS, answer_units, pack_units

SPLITTER_VERSION = 2
"""Bump when loading or splitting changes, so existing collections are re-chunked.
2: chunks are a heading line then one answer unit (sentence, list item, table row) per line."""
UNIT_LINES = "lines"
"""Metadata ``units`` value: the chunk's lines after its heading are its answer units."""


@dataclass
class IngestReport:
    """What one ingestion run did."""

    files_new: int = 0
    files_changed: int = 0
    files_unchanged: int = 0
    chunks_added: int = 0
    chunks_removed: int = 0
    files_pruned: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    """(path, reason) for every file that was skipped."""
    seconds: float = 0.0

    def summary(self) -> str:
        """One line for people."""
        return (f"{self.files_new} new, {self.files_changed} changed, {self.files_unchanged} unchanged files; "
                f"{self.chunks_added} chunks added, {self.chunks_removed} removed; {self.files_pruned} pruned; "
                f"{len(self.failed)} skipped; {self.seconds:.1f}s")


def _files(paths: Iterable[str | Path], report: IngestReport) -> list[Path]:
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")):
                if child.suffix.lower() in SUPPORTED:
                    found.append(child)
                else:
                    report.failed.append((str(child), f"unsupported file type {child.suffix or '(none)'}"))
        elif path.is_file():
            found.append(path)
        else:
            report.failed.append((str(path), "no such file or folder"))
    return found


def chunk_id(source: str, text: str, occurrence: int) -> str:
    """Stable id from the source and the content (``occurrence`` separates repeated chunks)."""
    return hashlib.sha256(f"{source}\n{occurrence}\n{text}".encode()).hexdigest()[:32]


def _counter(store: Any) -> Callable[[str], int]:
    tokenizer = getattr(getattr(getattr(store, "embeddings", None), "model", None), "tokenizer", None)
    if tokenizer is None:  # other embeddings: approximate with words
        return lambda text: int(len(text.split()) * 1.3) + 1
    return lambda text: len(tokenizer.tokenize(text))


def _chunks(path: Path, source: str, file_hash: str, count: Callable[[str], int], chunk_tokens: int,
            overlap_tokens: int) -> dict[str, tuple[str, dict[str, Any]]]:
    chunks: dict[str, tuple[str, dict[str, Any]]] = {}
    seen: dict[str, int] = {}
    index = 0
    for section in load_sections(path):
        heading = " — ".join(part for part in (section.title, section.section) if part)
        units = answer_units(section.text)
        for piece in pack_units(units, count=count, chunk_tokens=chunk_tokens, overlap_tokens=overlap_tokens):
            # The heading line helps retrieval of short chunks; one unit a line keeps each fact addressable.
            text = "\n".join([heading, *piece] if heading else piece)
            occurrence = seen[text] = seen.get(text, -1) + 1
            chunks[chunk_id(source, text, occurrence)] = (text, {
                "source": source, "title": section.title, "section": section.section,
                "chunk_index": index, "file_hash": file_hash, "units": UNIT_LINES, "headed": bool(heading)})
            index += 1
    return chunks


def _ingest_file(store: Any, path: Path, report: IngestReport, count: Callable[[str], int],
                 chunk_tokens: int, overlap_tokens: int) -> None:
    source = str(path.resolve())
    try:
        content = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise IngestError(f"cannot be read ({exc.strerror})") from exc
    # The fingerprint covers the splitting settings too: re-chunking with other settings is a change.
    file_hash = f"{content}:{chunk_tokens}:{overlap_tokens}:{SPLITTER_VERSION}"
    existing = store.get(where={"source": source}, include=["metadatas"])
    old_ids = set(existing["ids"])
    if old_ids and all(m.get("file_hash") == file_hash for m in existing["metadatas"]):
        report.files_unchanged += 1
        return
    chunks = _chunks(path, source, file_hash, count, chunk_tokens, overlap_tokens)
    stale = sorted(old_ids - set(chunks))
    new = [cid for cid in chunks if cid not in old_ids]
    kept = [cid for cid in chunks if cid in old_ids]
    if stale:
        store.delete(ids=stale)
    if new:
        store.add_texts([chunks[c][0] for c in new], metadatas=[chunks[c][1] for c in new], ids=new)
    if kept:  # same text, new file version: refresh metadata only (no re-embedding)
        store._collection.update(ids=kept, metadatas=[chunks[c][1] for c in kept])
    report.files_changed += bool(old_ids)
    report.files_new += not old_ids
    report.chunks_added += len(new)
    report.chunks_removed += len(stale)


def _prune(store: Any, roots: Sequence[Path], report: IngestReport) -> None:
    # A root that is missing right now (unmounted, mistyped) must not wipe everything under it.
    resolved = [root.resolve() for root in roots if root.exists()]
    everything = store.get(include=["metadatas"])
    gone: dict[str, list[str]] = {}
    for cid, meta in zip(everything["ids"], everything["metadatas"]):
        source = (meta or {}).get("source", "")
        inside = any(Path(source) == root or Path(source).is_relative_to(root) for root in resolved)
        if inside and not Path(source).exists():
            gone.setdefault(source, []).append(cid)
    for ids in gone.values():
        store.delete(ids=ids)
        report.chunks_removed += len(ids)
    report.files_pruned = len(gone)


def ingest(paths: Sequence[str | Path], *, store: Any, prune: bool = False, chunk_tokens: int = CHUNK_TOKENS,
           overlap_tokens: int = OVERLAP_TOKENS, progress: Callable[[Path], None] | None = None) -> IngestReport:
    """Ingest files and folders into ``store`` (a vector store from :func:`plait.retrieval.vector_store`).

    ``progress`` is called once per file (the CLI draws a progress bar with it).
    """
    started, report = time.perf_counter(), IngestReport()
    count = _counter(store)
    for path in _files(paths, report):
        try:
            _ingest_file(store, path, report, count, chunk_tokens, overlap_tokens)
        except IngestError as exc:
            report.failed.append((str(path), str(exc)))
        if progress:
            progress(path)
    if prune:
        _prune(store, [Path(p) for p in paths], report)
    report.seconds = time.perf_counter() - started
    return report


def count_files(paths: Sequence[str | Path]) -> int:
    """How many supported files ``ingest`` will read (for a progress bar's total)."""
    return len(_files(paths, IngestReport()))
