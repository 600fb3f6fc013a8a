from plait.retrieval.units import answer_units, chunk_units, pack_units, sentences

TABLE = """Prices below.

| Service | Price |
|---|---|
| Standard delivery (3-5 working days) | £3.95 |
| Express delivery | £6.95 |
"""


def test_table_rows_keep_their_header():
    assert answer_units(TABLE) == ["Prices below.", "Service: Standard delivery (3-5 working days); Price: £3.95",
                                   "Service: Express delivery; Price: £6.95"]


def test_list_items_and_sentences_are_units():
    text = "You can pay with:\n- **Visa** cards\n- PayPal\n\nWe ship daily. Returns are free! Ask us?"
    assert answer_units(text) == ["You can pay with:", "Visa cards", "PayPal", "We ship daily.", "Returns are free!",
                                  "Ask us?"]


def test_abbreviations_do_not_end_a_sentence():
    assert sentences("Buy from Larkspur & Co. today, e.g. a lamp. Then relax.") == [
        "Buy from Larkspur & Co. today, e.g. a lamp.", "Then relax."]


def test_pack_units_overlaps_and_cuts_long_units():
    words = lambda text: len(text.split())  # noqa: E731
    chunks = pack_units(["a b", "c d", "e f", "g h i j k l m n"], count=words, chunk_tokens=4, overlap_tokens=2)
    assert chunks[0] == ["a b", "c d"] and chunks[1][0] == "c d"  # the next chunk starts with the previous end
    assert all(sum(words(u) for u in c) <= 4 for c in chunks)
    assert "g h" in " ".join(" ".join(c) for c in chunks) and any("n" in u.split() for c in chunks for u in c)


def test_chunk_units_reads_lines_written_by_ingest_and_parses_other_text():
    assert chunk_units("Delivery — Costs\nOne.\nTwo.", {"units": "lines", "headed": True}) == ["One.", "Two."]
    assert chunk_units("One. Two.", {}) == ["One.", "Two."]
