"""Ingestion on real MiniLM embeddings and a real embedded Chroma, in temp dirs."""

import json

import pytest

from plait.retrieval import ingest, search
from plait.retrieval.loaders import load_sections
from plait.retrieval.units import answer_units, pack_units

pytestmark = pytest.mark.real  # MiniLM embeddings and Chroma


def sources(store):
    return sorted({m["source"].rsplit("/", 1)[-1] for m in store.get(include=["metadatas"])["metadatas"]})


def test_first_ingest_then_idempotent_second(docs, store):
    first = ingest([docs], store=store)
    assert (first.files_new, first.files_unchanged) == (3, 0)
    assert first.chunks_added == len(store.get()["ids"]) >= 5
    second = ingest([docs], store=store)
    assert (second.files_new, second.files_changed, second.files_unchanged) == (0, 0, 3)
    assert second.chunks_added == second.chunks_removed == 0
    assert "0 chunks added" in second.summary()


def test_metadata_on_every_chunk(docs, store):
    ingest([docs], store=store)
    metas = store.get(include=["metadatas"])["metadatas"]
    timing = next(m for m in metas if m["section"] == "Timing")
    assert timing["title"] == "Refunds" and timing["source"].endswith("refunds.md")
    assert len(timing["file_hash"].split(":")[0]) == 64 and isinstance(timing["chunk_index"], int)


def test_changed_file_replaces_its_old_chunks(docs, store):
    ingest([docs], store=store)
    (docs / "refunds.md").write_text("# Refunds\n\n## Timing\nRefunds now take 2 working days.\n\n"
                                     "## Gift cards\nOrders paid by gift card are refunded as store credit.\n")
    report = ingest([docs], store=store)
    assert (report.files_changed, report.files_unchanged) == (1, 2)
    assert report.chunks_added == 1 and report.chunks_removed == 1  # the unchanged section was kept
    texts = " ".join(store.get()["documents"])
    assert "2 working days" in texts and "5-7 working days" not in texts
    assert ingest([docs], store=store).files_unchanged == 3  # the kept chunk's metadata was refreshed


def test_prune_removes_chunks_of_deleted_files(docs, store):
    ingest([docs], store=store)
    (docs / "notes.txt").unlink()
    assert "notes.txt" in sources(store)
    report = ingest([docs], store=store, prune=True)
    assert report.files_pruned == 1 and report.chunks_removed >= 1
    assert sources(store) == ["delivery.md", "refunds.md"]


def test_bad_files_are_reported_and_skipped(docs, store):
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (docs / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (docs / "rows.jsonl").write_text('{"text": "fine"}\n{not json\n')
    (docs / "report.docx").write_bytes(b"PK\x03\x04")
    report = ingest([docs, docs / "missing.md"], store=store)
    reasons = {path.rsplit("/", 1)[-1]: reason for path, reason in report.failed}
    assert "not a readable PDF" in reasons["broken.pdf"]
    assert "not UTF-8" in reasons["latin1.txt"]
    assert "line 2 is not valid JSON" in reasons["rows.jsonl"]
    assert "unsupported file type .docx" in reasons["report.docx"]
    assert "no such file" in reasons["missing.md"]
    assert report.files_new == 3  # the good files still went in


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF with ``text``, written by hand (no PDF library needed)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_every_supported_format_loads(tmp_path):
    (tmp_path / "a.html").write_text("<html><head><title>Care</title><style>x{}</style></head><body>"
                                     "<h2>Washing</h2><p>Wash at 30 degrees.</p><h2>Drying</h2><p>Dry flat.</p></body></html>")
    (tmp_path / "b.csv").write_text("product,warranty\nKettle,2 years\nToaster,1 year\n")
    (tmp_path / "c.jsonl").write_text(json.dumps({"title": "FAQ", "text": "We open at 9."}) + "\n" + json.dumps([1, 2]))
    (tmp_path / "d.pdf").write_bytes(minimal_pdf("Returns are free within 30 days"))
    html = load_sections(tmp_path / "a.html")
    assert [(s.title, s.section, s.text) for s in html] == [("Care", "Washing", "Wash at 30 degrees."),
                                                           ("Care", "Drying", "Dry flat.")]
    assert load_sections(tmp_path / "b.csv")[1].text == "product: Toaster\nwarranty: 1 year"
    jsonl = load_sections(tmp_path / "c.jsonl")
    assert (jsonl[0].title, jsonl[0].text, jsonl[1].text) == ("FAQ", "We open at 9.", "[1, 2]")
    assert "Returns are free within 30 days" in load_sections(tmp_path / "d.pdf")[0].text


def test_packing_respects_the_token_budget_and_overlaps():
    words = lambda text: len(text.split())  # noqa: E731
    units = answer_units(" ".join(f"Sentence number {i} is here." for i in range(40)))
    chunks = pack_units(units, count=words, chunk_tokens=30, overlap_tokens=10)
    assert len(chunks) > 5 and all(sum(words(u) for u in c) <= 30 for c in chunks)
    assert chunks[1][0] in chunks[0]  # the next chunk starts with the previous one's end
    with pytest.raises(ValueError, match="overlap_tokens"):
        pack_units(["x"], count=words, chunk_tokens=10, overlap_tokens=10)


def test_search_similarity_filter_threshold_and_mmr(docs, store):
    ingest([docs], store=store)
    hits = search("how long until my money comes back", store=store, k=2)
    assert hits[0].title == "Refunds" and hits[0].section == "Timing"
    assert hits[0].score >= hits[1].score
    only_delivery = search("how long until my money comes back", store=store, k=3, filter={"title": "Delivery"})
    assert {h.title for h in only_delivery} == {"Delivery"}
    assert search("quantum chromodynamics lecture notes", store=store, threshold=0.5) == []
    diverse = search("delivery", store=store, k=2, mmr=True)
    assert len({h.section for h in diverse}) == 2
    assert search("   ", store=store) == []


def test_new_chunking_settings_re_chunk_unchanged_files(docs, store):
    ingest([docs], store=store)
    report = ingest([docs], store=store, chunk_tokens=120, overlap_tokens=20)
    assert report.files_changed == 3 and report.files_unchanged == 0


def test_prune_leaves_chunks_alone_when_the_root_is_missing(docs, store, tmp_path):
    ingest([docs], store=store)
    before = len(store.get()["ids"])
    docs.rename(tmp_path / "moved")
    report = ingest([docs], store=store, prune=True)
    assert report.files_pruned == 0 and len(store.get()["ids"]) == before
    assert "no such file or folder" in report.failed[0][1]
