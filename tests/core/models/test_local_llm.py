"""The real packaged model (Gemma 3 270M base on llama.cpp): behaviour, not control flow."""

import threading
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from plait.models import resolve_model
from plait.prompts import ASK, ASK_STOP, as_node, prompt
from plait.tracing import TraceStore

pytestmark = pytest.mark.real


def test_generation_returns_text_and_usage(local_llm):
    # Through plait's ASK prompt (one worked exchange): a bare question leaves the base model
    # torn between answering and repeating the question, a near-tie reused KV state can tip.
    messages = ASK.template.invoke({"question": "What is the capital of France?"}).to_messages()
    message = local_llm.invoke(messages, stop=ASK_STOP)
    assert "Paris" in message.content
    usage = message.usage_metadata
    assert usage["input_tokens"] > 5 and 0 < usage["output_tokens"] <= 48
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


def test_max_tokens_bounds_the_output(local_llm):
    message = local_llm.invoke("Write a long story about a dragon.", max_tokens=5)
    assert message.usage_metadata["output_tokens"] <= 5
    assert message.response_metadata["finish_reason"] == "length"


def test_streaming_matches_invoke_at_temperature_zero(local_llm):
    text = "Count: 1, 2, 3,"
    chunks = list(local_llm.stream(text))
    assert len([c for c in chunks if c.content]) > 3
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    assert total.content == local_llm.invoke(text).content
    assert total.usage_metadata["output_tokens"] > 0


def test_streaming_a_choice_yields_it_whole_with_its_confidence(local_llm):
    # LangGraph's "messages" stream mode makes every model call in a graph stream, classifiers too.
    text, choices = "The sky on a clear day is", ["blue", "green"]
    chunks = list(local_llm.stream(text, choices=choices))
    expected = local_llm.invoke(text, choices=choices)
    assert [c.content for c in chunks if c.content] == [expected.content]  # core adds an empty last chunk
    assert chunks[0].response_metadata["confidence"] == pytest.approx(expected.response_metadata["confidence"])


def test_stop_sequences_end_generation(local_llm):
    text = "Numbers: 1, 2, 3, 4,"
    assert "8" in local_llm.invoke(text).content
    stopped = local_llm.invoke(text, stop=["8"]).content
    assert "8" not in stopped and "7" in stopped


def test_seed_makes_sampling_reproducible(local_llm):
    text = "Once upon a time"
    first = local_llm.invoke(text, temperature=1.0, seed=7).content
    assert first == local_llm.invoke(text, temperature=1.0, seed=7).content
    others = {local_llm.invoke(text, temperature=1.0, seed=s).content for s in (1, 2, 3)}
    assert len(others | {first}) > 1


def test_token_usage_lands_in_a_trace_row(settings):
    llm = resolve_model("local:gemma-3-270m", settings=settings, max_tokens=16)
    qa = prompt("qa", [("human", "Question: {q}\nAnswer:")])
    message = as_node(qa.template | llm, name="qa", prompt=qa).invoke({"q": "What colour is the sky?"})
    [row] = TraceStore(settings.trace_db).list()
    assert row["node"] == "qa" and row["prompt"] == qa.id
    assert row["model_ref"] == "local:gemma-3-270m"
    assert row["prompt_tokens"] == message.usage_metadata["input_tokens"]
    assert row["completion_tokens"] == message.usage_metadata["output_tokens"]
    assert row["output"] == message.content


class Ticket(BaseModel):
    category: Literal["shipping", "refund", "account", "product", "other"]
    urgency: int = Field(ge=1, le=5, description="1 = can wait, 5 = urgent")
    summary: str = Field(description="one short sentence")


MESSAGES = [
    "My parcel never arrived and it's been three weeks!",
    "I want my money back for the broken blender.",
    "How do I change the email address on my account?",
    "Does the X200 vacuum work on thick carpets?",
    "hello",
    "URGENT!!! someone is using my card on your site",
    "Can I return shoes I've already worn once?",
    "The tracking page says 'label created' for 10 days.",
    "Quiero cancelar mi pedido, por favor.",
    "",
    "Your checkout crashes when I enter a postcode with a space.",
    "I was charged twice for order 88123.",
    "Do you ship to Iceland?",
    "{\"json\": \"in the input\", \"braces\": \"}}}\"}",
    "What's the warranty on refurbished laptops?",
    "Please delete all my personal data.",
    "The box arrived crushed and the glass is broken. " * 5,
    "lol",
    "Is there a student discount?",
    "I forgot my password and the reset email never comes.",
]


def test_structured_output_is_valid_on_20_of_20_varied_inputs(local_llm):
    extract = local_llm.with_structured_output(Ticket)
    results = [extract.invoke(f"Customer message: {text}") for text in MESSAGES]
    assert len(results) == 20
    for ticket in results:
        assert isinstance(ticket, Ticket)
        assert 1 <= ticket.urgency <= 5


def test_literal_output_is_always_one_of_the_choices(local_llm):
    few_shot = ("Review: Terrible, broke in a day. Sentiment: negative\n"
                "Review: Works great, love it. Sentiment: positive\n"
                "Review: {text} Sentiment:")
    choose = local_llm.with_structured_output(Literal["positive", "negative"])
    answers = [choose.invoke(few_shot.format(text=t)) for t in
               ("Absolutely wonderful, five stars.", "Awful. Never again.", "meh")]
    assert set(answers) <= {"positive", "negative"}
    assert answers[:2] == ["positive", "negative"]


def test_include_raw_returns_message_and_parsed(local_llm):
    result = local_llm.with_structured_output(Literal["yes", "no"], include_raw=True).invoke("Is fire hot? Answer:")
    assert result["parsing_error"] is None
    assert result["parsed"] in {"yes", "no"}
    assert result["raw"].content.strip() == result["parsed"]


def test_one_model_is_shared_safely_across_threads(local_llm):
    prompts = [f"Question: What is {i} plus {i}?\nAnswer:" for i in range(4)]
    expected = [local_llm.invoke(p, max_tokens=8).content for p in prompts]
    results: dict[int, str] = {}

    def work(i: int) -> None:
        results[i] = local_llm.invoke(prompts[i], max_tokens=8).content

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [results[i] for i in range(4)] == expected
    assert local_llm.loaded() is resolve_model("local:gemma-3-270m").loaded()


def test_prompt_longer_than_the_context_is_a_clear_error():
    from plait.config import Settings
    from plait.errors import PlaitError

    small = resolve_model("local:gemma-3-270m", settings=Settings(tracing=False), n_ctx=64)
    with pytest.raises(PlaitError, match="context window is 64.*n_ctx"):
        small.invoke("word " * 200)
