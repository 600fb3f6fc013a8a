import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from plait.config import load_settings
from plait.errors import MissingAPIKeyError
from plait.retrieval import embeddings_for, ingest, search, vector_store
from plait.retrieval.errors import StoreError


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
