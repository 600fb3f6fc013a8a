import os
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

from plait.config import load_settings
from plait.errors import MissingAPIKeyError
from plait.retrieval import embeddings_for, ingest, search, vector_store
from plait.retrieval.errors import StoreError

pytestmark = pytest.mark.real  # MiniLM embeddings and Chroma


def test_invalid_collection_name_says_what_is_allowed(tmp_path):
    with pytest.raises(StoreError, match="3-512 letters"):
        vector_store("x", path=tmp_path)


def test_unreachable_server_says_how_to_start_one():
    with pytest.raises(StoreError, match="chroma run --path"):
        vector_store("kb-one", url="http://127.0.0.1:9")


def test_openai_embeddings_need_a_key():
    with pytest.raises(MissingAPIKeyError, match="OPENAI_API_KEY"):
        embeddings_for("openai:text-embedding-3-small")


def test_config_selects_collection_and_path(isolated):
    (isolated / "plait.toml").write_text('[retrieval]\ncollection = "from-config"\nchroma_path = "vectors"\n')
    settings = load_settings()
    assert settings.retrieval["chroma_path"] == str(isolated / "vectors")
    store = vector_store(settings=settings)
    assert store._collection.name == "from-config"
    assert (isolated / "vectors").is_dir()


def test_chroma_never_gets_a_default_embedding_function(tmp_path):
    store = vector_store("kb-two", path=tmp_path)
    assert store._collection.configuration.get("embedding_function") is None


class TableEmbeddings(Embeddings):
    """Fixed unit vectors, so scores and MMR choices are known exactly."""

    VECTORS = {"query": [1, 0, 0], "same": [1, 0, 0], "near": [0.99, 0.1411, 0], "other": [0.8, 0, 0.6],
               "opposite": [-0.6, 0.8, 0]}

    def embed_documents(self, texts):
        return [self.embed_query(t) for t in texts]

    def embed_query(self, text):
        vector = np.asarray(self.VECTORS[text], dtype=np.float32)
        return (vector / np.linalg.norm(vector)).tolist()


def test_scores_are_cosine_similarities_threshold_and_mmr(tmp_path):
    store = vector_store("table-kb", path=tmp_path, embeddings=TableEmbeddings())
    names = ["same", "near", "other", "opposite"]
    store.add_texts(names, metadatas=[{"source": f"{n}.md", "chunk_index": 0} for n in names])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a negative similarity is a plain score, not a warning
        hits = search("query", store=store, k=4)
        assert [h.text for h in hits] == names
        assert [h.score for h in hits] == pytest.approx([1.0, 0.99, 0.8, -0.6], abs=1e-4)
        assert [h.text for h in search("query", store=store, k=4, threshold=0.5)] == ["same", "near", "other"]
        assert search("query", store=store, threshold=1.5) == []
        # MMR: "near" is almost "same"; with diversity the less similar but different "other" comes next,
        # and "opposite" (most unlike the rest) is out by the threshold, which applies before MMR.
        diverse = search("query", store=store, k=2, mmr=True, diversity=0.7, threshold=0.0)
        assert [h.text for h in diverse] == ["same", "other"]
        assert [h.score for h in diverse] == pytest.approx([1.0, 0.8], abs=1e-4)
        unfiltered = search("query", store=store, k=3, mmr=True, diversity=0.7)
        assert [h.text for h in unfiltered] == ["same", "opposite", "other"]
        assert [h.text for h in search("query", store=store, k=2, mmr=True, diversity=0.0)] == ["same", "near"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def chroma_server(tmp_path):
    port = free_port()
    chroma = Path(sys.executable).with_name("chroma")
    proc = subprocess.Popen([str(chroma), "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("chroma run did not start within 60 s")
            time.sleep(0.3)
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def test_client_server_mode_ingests_and_searches(chroma_server, docs):
    store = vector_store("served-kb", url=chroma_server)
    report = ingest([docs], store=store)
    assert report.files_new == 3 and report.chunks_added >= 5
    assert ingest([docs], store=store).chunks_added == 0
    hits = search("how much is standard delivery", store=vector_store("served-kb", url=chroma_server), k=1)
    assert hits[0].title == "Delivery" and "3.95" in hits[0].text
