"""The example help centre and its eval set: the retrieval quality users get out of the box."""

import json
from pathlib import Path

import pytest

from plait.retrieval import ingest, search, vector_store

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def helpcentre(tmp_path_factory):
    store = vector_store("helpcentre-test", path=tmp_path_factory.mktemp("chroma"))
    report = ingest([EXAMPLES / "helpcentre"], store=store)
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
        assert (EXAMPLES / "helpcentre" / json.loads(line)["article"]).is_file()
