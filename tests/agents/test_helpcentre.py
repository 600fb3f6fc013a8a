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
