import pytest

from plait.chains import rag
from plait.chains.prompts import DONT_KNOW
from plait.chains.rag import citations
from plait.errors import EmptyInputError
from plait.retrieval import ingest, vector_store
from plait.testing import ScriptedChatModel

pytestmark = pytest.mark.real  # MiniLM embeddings and Chroma


@pytest.fixture
def store(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "refunds.md").write_text("# Refunds\n\n## Timing\nRefunds reach your card within 5-7 working days.\n")
    (docs / "delivery.md").write_text("# Delivery\n\n## Costs\nStandard delivery costs £3.95.\n")
    store = vector_store("rag-kb", path=tmp_path / "chroma")
    ingest([docs], store=store)
    return store


def test_citations_parse_forms():
    assert citations("Yes [1]. Also [2, 3] and [9]", 3) == {1, 2, 3}
    assert citations("no citations", 2) == set()


def test_answer_with_numbered_sources_and_citations(store):
    llm = ScriptedChatModel(replies=["Refunds take 5-7 working days [1]."])
    answer = rag(store=store, model=llm, k=2, threshold=0.1).invoke("how long do refunds take")
    assert answer.knew and answer.answer == "Refunds take 5-7 working days [1]."
    assert answer.sources[0].title == "Refunds" and answer.sources[0].cited
    assert [s.n for s in answer.cited] == [1]
    prompt = llm.calls[0][-1].content
    assert "[1] Refunds — Timing: Refunds reach your card within 5-7 working days." in prompt
    assert prompt.endswith("Question: how long do refunds take")


def test_nothing_relevant_means_dont_know_without_a_model_call(store):
    llm = ScriptedChatModel(replies=[])
    answer = rag(store=store, model=llm, threshold=0.5).invoke({"question": "what is the airspeed of a swallow"})
    assert not answer.knew and answer.answer == DONT_KNOW and answer.sources == []
    assert llm.calls == []


def test_empty_question(store):
    with pytest.raises(EmptyInputError):
        rag(store=store, model=ScriptedChatModel(replies=[])).invoke(" ")


@pytest.mark.real
def test_rag_on_the_local_model(store):
    answer = rag(store=store, k=2).invoke("How long does a refund take to reach my card?")
    assert answer.knew and answer.answer
    assert answer.sources[0].title == "Refunds"
    assert answer.output_tokens > 0
