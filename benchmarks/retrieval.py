"""Retrieval speed: ingest throughput and query latency, plait vs raw sentence-transformers + chromadb.

Both sides index the SAME chunks: made-up help-centre articles (sentences of the packaged example
help centre recombined, each section numbered so every chunk is unique) are written as Markdown
files; an untimed dry run of plait's ``ingest`` (with throwaway vectors) records the exact chunk
texts, ids and metadata it makes, and the raw side adds exactly those, file by file, encoding with
the same model object and batch size. Ingestion runs in rounds of files, alternating which side goes
first, so load from other processes hits both alike. Queries (the help-centre eval questions, with
varied wording) alternate between the sides too; k=4, after a warm-up. Runs against embedded Chroma
(``PersistentClient`` in a temp dir) and a Chroma server this script starts with ``chroma run``.
Goal: plait ingest throughput >= 0.9x raw, plait query p50 <= 1.1x raw.

    .venv/bin/python benchmarks/retrieval.py [--chunks 10000] [--queries 200] [--rounds 8] [--quick]
        [--only embedded|server]

On 2 cores the full run takes 20-40 minutes. Under load from other processes, single-query latency
swings (torch's 2 threads contend for the cores) for both sides alike; compare the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import write
from plait.agents import example_help_centre
from plait.retrieval import (
    SentenceTransformerEmbeddings,
    ingest,
    local_embeddings,
    search,
    vector_store,
)

EVAL_SET = Path(__file__).resolve().parents[1] / "examples" / "helpcentre_eval.jsonl"
CHROMA = Path(sys.executable).parent / "chroma"
COSINE = {"hnsw": {"space": "cosine"}}
INCLUDE = ["documents", "metadatas", "distances"]
K = 4
SECTIONS_PER_FILE = 50
SEED = 13
WORDINGS = ("{q}", "hi, {q}", "quick question: {q}", "{q} thanks", "could you tell me {q}")


def help_centre_sentences() -> tuple[list[str], list[str]]:
    """Sentences and section headings of the packaged help centre, in a fixed order."""
    sentences, headings = [], []
    for article in sorted(example_help_centre().glob("*.md")):
        for line in article.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line.startswith("#"):
                headings.append(line.lstrip("# ").strip())
            elif line and not line.startswith("|"):
                text = re.sub(r"^[-*]\s+|\*\*", "", line)
                sentences += [s for s in re.split(r"(?<=[.!?])\s+", text) if len(s) > 20]
    return sentences, headings


def write_corpus(folder: Path, chunks: int) -> list[Path]:
    """Write ``chunks`` numbered sections of 3-4 recombined sentences, ``SECTIONS_PER_FILE`` a file."""
    sentences, headings = help_centre_sentences()
    rng, files = random.Random(SEED), []
    for start in range(0, chunks, SECTIONS_PER_FILE):
        path = folder / f"article-{start // SECTIONS_PER_FILE:04d}.md"
        parts = [f"# {rng.choice(headings)} (article {start // SECTIONS_PER_FILE})"]
        for number in range(start, min(chunks, start + SECTIONS_PER_FILE)):
            body = " ".join(rng.sample(sentences, rng.randint(3, 4)))
            parts.append(f"## {rng.choice(headings)} (note {number})\n\nNote {number}: {body}")
        path.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
        files.append(path)
    return files


class _ThrowawayVectors(SentenceTransformerEmbeddings):
    """The real tokenizer (so chunking is plait's own) but random vectors: learns the chunks cheaply."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        width = self.model.get_embedding_dimension()
        vectors = np.random.default_rng(0).standard_normal((len(texts), width)).astype(np.float32)
        return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).tolist()


@dataclass(frozen=True)
class FileChunks:
    """The chunks plait makes of one file, in its order: what the raw side adds in one batch."""

    ids: list[str]
    texts: list[str]
    metadatas: list[dict[str, Any]]


def plait_chunks(files: list[Path], folder: Path) -> dict[Path, FileChunks]:
    """Dry-run plait's ingest (untimed, no real embeddings) and read back each file's chunks."""
    store = vector_store("dry-run", path=folder, embeddings=_ThrowawayVectors())
    ingest(files, store=store)
    got = store.get(include=["documents", "metadatas"])
    rows: dict[str, list[tuple[int, str, str, dict]]] = {}
    for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"]):
        rows.setdefault(meta["source"], []).append((meta["chunk_index"], cid, text, meta))
    out = {}
    for path in files:
        ordered = sorted(rows[str(path.resolve())], key=lambda row: row[0])
        out[path] = FileChunks([r[1] for r in ordered], [r[2] for r in ordered], [r[3] for r in ordered])
    return out


def raw_add(model: Any, collection: Any, chunks: FileChunks, batch_size: int) -> None:
    """What a user of sentence-transformers + chromadb writes: encode, then add, one file at a time."""
    vectors = model.encode(chunks.texts, batch_size=batch_size, normalize_embeddings=True,
                           show_progress_bar=False, convert_to_numpy=True)
    collection.add(ids=chunks.ids, embeddings=vectors, documents=chunks.texts, metadatas=chunks.metadatas)


def timed_ingest(store: Any, collection: Any, files: list[Path], chunks: dict[Path, FileChunks],
                 rounds: int) -> tuple[float, float]:
    """Seconds for plait and raw to ingest ``files``, in ``rounds`` slices taken in alternating order."""
    model, batch = store.embeddings.model, store.embeddings.batch_size
    spent = {"plait": 0.0, "raw": 0.0}
    size = -(-len(files) // rounds)
    for number, start in enumerate(range(0, len(files), size)):
        part = files[start:start + size]
        steps = {"plait": lambda part=part: ingest(part, store=store),
                 "raw": lambda part=part: [raw_add(model, collection, chunks[p], batch) for p in part]}
        for side in (("plait", "raw") if number % 2 == 0 else ("raw", "plait")):
            started = time.perf_counter()
            steps[side]()
            spent[side] += time.perf_counter() - started
    return spent["plait"], spent["raw"]


def questions(count: int) -> list[str]:
    """``count`` customer questions: the eval set's, cycled through a few wordings."""
    base = [json.loads(line)["question"] for line in EVAL_SET.read_text().splitlines() if line.strip()]
    return [WORDINGS[i // len(base) % len(WORDINGS)].format(q=base[i % len(base)]) for i in range(count)]


def timed_queries(store: Any, collection: Any, asked: list[str]) -> tuple[list[float], list[float]]:
    """Per-query seconds for plait's ``search`` and for raw encode + ``collection.query``, alternating."""
    model = store.embeddings.model

    def raw(question: str) -> Any:
        vector = model.encode([question], normalize_embeddings=True, show_progress_bar=False)
        return collection.query(query_embeddings=vector, n_results=K, include=INCLUDE)

    sides = {"plait": lambda q: search(q, store=store, k=K), "raw": raw}
    for question in asked[:10]:  # warm-up: first-call costs (allocations, caches) are not latency
        sides["plait"](question), sides["raw"](question)
    times: dict[str, list[float]] = {"plait": [], "raw": []}
    for number, question in enumerate(asked):
        for side in (("plait", "raw") if number % 2 == 0 else ("raw", "plait")):
            started = time.perf_counter()
            sides[side](question)
            times[side].append(time.perf_counter() - started)
    return times["plait"], times["raw"]


def same_contents(store: Any, collection: Any) -> bool:
    """Both collections hold the same (id, text) pairs."""
    mine, raw = store.get(include=["documents"]), collection.get(include=["documents"])
    return Counter(zip(mine["ids"], mine["documents"])) == Counter(zip(raw["ids"], raw["documents"]))


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def compare(store: Any, collection: Any, files: list[Path], chunks: dict[Path, FileChunks], asked: list[str],
            rounds: int) -> dict[str, Any]:
    """Ingest and query on both sides; return the figures and their ratios."""
    total = sum(len(c.ids) for c in chunks.values())
    plait_s, raw_s = timed_ingest(store, collection, files, chunks, rounds)
    stored = {"plait": store._collection.count(), "raw": collection.count()}
    plait_q, raw_q = timed_queries(store, collection, asked)
    ms = {f"{side}_{stat}": round(percentile(values, q) * 1000, 2)
          for side, values in (("plait", plait_q), ("raw", raw_q)) for stat, q in (("p50", 50), ("p95", 95))}
    plait_cps, raw_cps = total / plait_s, total / raw_s
    return {
        "chunks_stored": stored, "same_chunks": same_contents(store, collection),
        "ingest_seconds": {"plait": round(plait_s, 2), "raw": round(raw_s, 2)},
        "chunks_per_second": {"plait": round(plait_cps, 1), "raw": round(raw_cps, 1)},
        "throughput_ratio_plait_over_raw": round(plait_cps / raw_cps, 3),
        "query_ms": ms, "query_mean_ms": {"plait": round(statistics.mean(plait_q) * 1000, 2),
                                          "raw": round(statistics.mean(raw_q) * 1000, 2)},
        "p50_ratio_plait_over_raw": round(ms["plait_p50"] / ms["raw_p50"], 3),
        "p95_ratio_plait_over_raw": round(ms["plait_p95"] / ms["raw_p95"], 3),
        "goal_met": plait_cps / raw_cps >= 0.9 and ms["plait_p50"] <= 1.1 * ms["raw_p50"],
    }


def embedded(tmp: Path, files: list[Path], chunks: dict[Path, FileChunks], asked: list[str],
             rounds: int) -> dict[str, Any]:
    import chromadb

    store = vector_store("bench-plait", path=tmp / "plait")
    client = chromadb.PersistentClient(path=str(tmp / "raw"), settings=chromadb.Settings(anonymized_telemetry=False))
    collection = client.get_or_create_collection("bench-raw", embedding_function=None, configuration=COSINE)
    return compare(store, collection, files, chunks, asked, rounds)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def chroma_server(folder: Path, timeout: float = 60.0) -> Iterator[str]:
    """Run ``chroma run`` on a free port until the block ends; yield its URL once its heartbeat answers."""
    port, log = free_port(), (folder / "chroma.log").open("wb")
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([str(CHROMA if CHROMA.exists() else shutil.which("chroma") or "chroma"), "run",
                                "--path", str(folder / "data"), "--host", "127.0.0.1", "--port", str(port)],
                               stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2).read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"chroma run did not answer at {url}; see {folder / 'chroma.log'}") from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def server(tmp: Path, files: list[Path], chunks: dict[Path, FileChunks], asked: list[str],
           rounds: int) -> dict[str, Any]:
    import chromadb

    tmp.mkdir(parents=True)
    with chroma_server(tmp) as url:
        store = vector_store("bench-plait", url=url)
        port = int(url.rsplit(":", 1)[1])
        client = chromadb.HttpClient(host="127.0.0.1", port=port,
                                     settings=chromadb.Settings(anonymized_telemetry=False))
        collection = client.get_or_create_collection("bench-raw", embedding_function=None, configuration=COSINE)
        return compare(store, collection, files, chunks, asked, rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=10_000, help="sections to write (one chunk each)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=8, help="ingest slices, alternating which side goes first")
    parser.add_argument("--quick", action="store_true", help="500 chunks, 50 queries")
    parser.add_argument("--only", choices=("embedded", "server"), help="run one mode")
    args = parser.parse_args()
    if args.quick:
        args.chunks, args.queries = 500, 50
    asked, load_before = questions(args.queries), os.getloadavg()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        (tmp / "docs").mkdir()
        files = write_corpus(tmp / "docs", args.chunks)
        chunks = plait_chunks(files, tmp / "dry")
        # Load the model and warm torch once, outside every timing (both sides share this model object).
        local_embeddings().model.encode(["warm up"] * 64, batch_size=64)
        results = {mode: run(tmp / mode, files, chunks, asked, args.rounds)
                   for mode, run in (("embedded", embedded), ("server", server)) if args.only in (None, mode)}
    write("retrieval", {
        "chunks": sum(len(c.ids) for c in chunks.values()), "sections_written": args.chunks, "files": len(files),
        "queries": len(asked), "k": K, "ingest_rounds": args.rounds,
        "embedding_batch_size": local_embeddings().batch_size,
        "load_average_1_5_15min": {"before": [round(x, 2) for x in load_before],
                                   "after": [round(x, 2) for x in os.getloadavg()]},
        "goal": "plait ingest chunks/s >= 0.9x raw; plait query p50 <= 1.1x raw", **results,
    })


if __name__ == "__main__":
    main()
