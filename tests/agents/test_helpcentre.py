"""The packaged example help centre and the collection the support assistant answers from."""

from pathlib import Path

import pytest

import plait.agents
from plait.agents import example_help_centre, help_centre_store
from plait.retrieval import ingest, vector_store


def test_example_help_centre_is_package_data_of_plait_agents():
    folder = example_help_centre()
    assert folder.is_relative_to(Path(plait.agents.__file__).parent)  # not a checkout's examples/
    assert len(list(folder.glob("*.md"))) == 32 and (folder / "returns-refund-timing.md").is_file()


def sources(store) -> set[str]:
    return {Path(m["source"]).name for m in store.get(include=["metadatas"])["metadatas"]}


@pytest.mark.real
def test_help_centre_store_fills_an_empty_collection_once(settings, monkeypatch):
    store = help_centre_store(settings=settings)
    assert sources(store) == {p.name for p in example_help_centre().glob("*.md")}
    chunks = len(store.get(include=[])["ids"])

    def no_ingest(*args, **kwargs):
        raise AssertionError("a filled collection must not be ingested again")

    monkeypatch.setattr("plait.agents.helpcentre.ingest", no_ingest)
    again = help_centre_store(settings=settings)
    assert len(again.get(include=[])["ids"]) == chunks


@pytest.mark.real
def test_help_centre_store_uses_a_collection_you_filled_as_it_is(settings, tmp_path):
    (tmp_path / "mine.md").write_text("# Opening hours\n\nWe answer the phone 9-5 on weekdays.\n")
    ingest([tmp_path / "mine.md"], store=vector_store("own-help", settings=settings))
    assert sources(help_centre_store("own-help", settings=settings)) == {"mine.md"}


@pytest.mark.real
def test_help_centre_store_rechunks_a_collection_an_older_plait_wrote(settings):
    article = example_help_centre() / "shipping-costs.md"
    old = vector_store("old-help", settings=settings)  # as plait < #14 stored it: no unit lines
    old.add_texts(["Delivery charges\n| Service | Price |\n| Express delivery | £6.95 |"],
                  metadatas=[{"source": str(article.resolve()), "title": "Delivery charges", "section": "",
                              "chunk_index": 0, "file_hash": "old"}], ids=["old-0"])
    store = help_centre_store("old-help", settings=settings)
    metadatas = store.get(include=["metadatas"])["metadatas"]
    assert "old-0" not in store.get(include=[])["ids"] and all(m["units"] == "lines" for m in metadatas)
    assert sources(store) == {p.name for p in example_help_centre().glob("*.md")}


def test_the_packaged_scorer_was_trained_on_the_question_files_as_they_are():
    import hashlib
    import json

    from plait.agents.helpcentre import SCORER

    manifest = json.loads((Path(plait.agents.__file__).parent / SCORER / "scorer.json").read_text())
    data = Path(__file__).parents[2] / "finetune" / "data"
    digest = hashlib.sha256()
    for name in manifest["data"]:
        digest.update((data / name).read_bytes())
    assert digest.hexdigest()[:16] == manifest["data_hash"], "question files changed: run `make helpcentre-scorer`"
    files = {p.name for p in data.glob("helpcentre_*.jsonl")}
    assert files == set(manifest["data"]), "a question file is not in the scorer: run `make helpcentre-scorer`"


@pytest.mark.real
def test_the_help_centre_scorer_answers_from_the_row_and_refuses_what_it_does_not_cover(settings):
    from plait.agents import help_centre_scorer
    from plait.chains import rag

    store = help_centre_store(settings=settings)
    scorer = help_centre_scorer(store)
    assert scorer is not None and 0.3 < scorer.min_similarity < 0.8
    node = rag(store=store, scorer=scorer)
    express = node.invoke("how much is express delivery?")
    assert express.knew and "£6.95" in express.answer and "Express" in express.evidence[0]
    for question in ("do you sell cars?", "what's your CEO's name?"):
        assert not node.invoke(question).knew
    alone = rag(store=store, scorer=scorer, quote_margin=0.0).invoke("how much is express delivery?")
    assert "£6.95" in alone.answer and "£9.95" not in alone.answer  # only units as good as the best are quoted


@pytest.mark.real
def test_other_documents_get_no_help_centre_scorer(settings, tmp_path):
    from plait.agents import help_centre_scorer

    (tmp_path / "mine.md").write_text("# Opening hours\n\nWe answer the phone 9-5 on weekdays.\n")
    store = vector_store("own-docs", settings=settings)
    ingest([tmp_path / "mine.md"], store=store)
    assert help_centre_scorer(store) is None
