import pytest

from plait.retrieval import vector_store


@pytest.fixture
def docs(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "refunds.md").write_text(
        "# Refunds\n\n## Timing\nRefunds reach your card within 5-7 working days after we receive the item.\n\n"
        "## Gift cards\nOrders paid by gift card are refunded as store credit.\n")
    (folder / "delivery.md").write_text(
        "# Delivery\n\n## Costs\nStandard delivery costs £3.95 and is free over £40.\n\n"
        "## Times\nStandard delivery takes 3-5 working days.\n")
    (folder / "notes.txt").write_text("The warehouse in Leeds is closed on Sundays.")
    return folder


@pytest.fixture
def store(tmp_path):
    return vector_store("test-kb", path=tmp_path / "chroma")
