"""The example help centre and its eval set: the retrieval quality users get out of the box."""

import json
from pathlib import Path

import pytest

from plait.agents import example_help_centre
from plait.retrieval import ingest, search, vector_store

pytestmark = pytest.mark.real  # MiniLM embeddings and Chroma

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
"""The evaluation set stays in the checkout; the articles are package data of plait.agents."""


@pytest.fixture(scope="module")
def helpcentre(tmp_path_factory):
    store = vector_store("helpcentre-test", path=tmp_path_factory.mktemp("chroma"))
    report = ingest([example_help_centre()], store=store)
    assert report.files_new >= 30 and not report.failed
    return store


def test_recall_at_5_meets_the_goal(helpcentre):
    questions = [json.loads(line) for line in (EXAMPLES / "helpcentre_eval.jsonl").read_text().splitlines()]
    assert len(questions) >= 40
    found = sum(q["article"] in [Path(h.source).name for h in search(q["question"], store=helpcentre, k=5)]
                for q in questions)
    assert found / len(questions) >= 0.9


def test_eval_set_points_at_real_articles():
    for line in (EXAMPLES / "helpcentre_eval.jsonl").read_text().splitlines():
        assert (example_help_centre() / json.loads(line)["article"]).is_file()
