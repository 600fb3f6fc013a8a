"""plait's LoRA trainer on the real packaged base: loss, save/load, llama.cpp GGUF, resume, early stopping.

Tiny data (12 examples, 3 labels), rank 4 on q/v only, so the whole file stays a few minutes
on 2 cores; the converted base is cached on disk after the first run (~1 min).
"""

import json
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import pytest
from safetensors.numpy import load_file

from plait.config import Settings
from plait.errors import PlaitError
from plait.finetune.gguf_lora import gguf_tensor_name
from plait.finetune.lora import TrainingStopped, TrainOptions, complete, predict_labels, split_example, train

LABELS = {
    "card_lost": ["I lost my card", "my card is missing", "someone stole my bank card", "can't find my card"],
    "refund": ["I want my money back", "how do I get a refund", "refund my purchase", "return the payment to me"],
    "greeting": ["hello there", "good morning", "hi, how are you", "hey, nice to meet you"],
}
EXAMPLES = [{"messages": [{"role": "user", "content": f"Text: {text}"}, {"role": "assistant", "content": label}]}
            for label, texts in LABELS.items() for text in texts]
VALIDATION = [EXAMPLES[0], EXAMPLES[5], EXAMPLES[10]]
OPTIONS = TrainOptions(epochs=3, batch_size=4, rank=4, alpha=8, target_modules=("q_proj", "v_proj"),
                       learning_rate=3e-3, dropout=0.0, checkpoint_every=1, patience=3)


def test_gguf_names_follow_llama_cpp():
    assert gguf_tensor_name("base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight") == \
        "blk.3.attn_q.weight.lora_a"
    assert gguf_tensor_name("base_model.model.model.layers.17.mlp.down_proj.lora_B.weight") == \
        "blk.17.ffn_down.weight.lora_b"
    with pytest.raises(PlaitError, match="only the linear layers"):
        gguf_tensor_name("base_model.model.lm_head.lora_A.weight")


def test_examples_render_as_the_local_model_sees_them():
    prompt, answer = split_example({"messages": [{"role": "system", "content": "Sort it."},
                                                 {"role": "user", "content": "Text: hi"},
                                                 {"role": "assistant", "content": "greeting"}]})
    assert prompt == "Sort it.\n\nUser: Text: hi\nAssistant:"
    assert answer == " greeting\n"
    with pytest.raises(PlaitError, match="Example 4: the last message must be the assistant's answer"):
        split_example({"messages": [{"role": "user", "content": "hi"}]}, 4)


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("plait-home")


@pytest.fixture(scope="module")
def trained(home):
    """One adapter trained once for the module (the base conversion is cached on disk)."""
    settings = Settings(home=home, tracing=False)
    info = train("tiny", EXAMPLES, validation=VALIDATION, options=OPTIONS, progress=False, settings=settings,
                 task={"kind": "classification", "labels": list(LABELS)})
    return info, settings


@pytest.mark.real
def test_training_lowers_the_loss_and_writes_the_adapter(trained):
    info, settings = trained
    folder = settings.home / "adapters" / "tiny"
    assert info.metrics["train_loss"] < info.metrics["first_loss"] / 2
    assert info.metrics["steps"] == 9 and info.metrics["epochs_run"] == 3
    assert info.metrics["tokens_per_second"] > 0 and info.metrics["val_loss"] < info.metrics["first_loss"]
    assert (folder / "loss.png").stat().st_size > 1000
    assert (folder / "peft" / "adapter_model.safetensors").is_file() and not (folder / "checkpoint").exists()
    meta = json.loads((folder / "adapter.json").read_text())
    assert meta["method"] == "lora" and meta["base"] == "local:gemma-3-270m" and meta["gguf"] == "adapter.gguf"
    assert meta["hyperparameters"]["rank"] == 4 and meta["task"]["labels"] == list(LABELS)


@pytest.mark.real
def test_saved_adapter_reloads_and_agrees_with_llama_cpp(trained):
    from plait.models import resolve_model

    info, settings = trained
    asks = [e["messages"][:-1] for e in EXAMPLES]
    expected = [e["messages"][-1]["content"] for e in EXAMPLES]
    fallback = predict_labels("tiny", asks, list(LABELS), settings=settings)
    assert sum(a == b for a, b in zip(fallback, expected)) >= 11
    llm = resolve_model("lora:tiny", settings=settings)
    assert llm.lora_path.endswith("adapter.gguf")
    tuned = [llm.invoke([("human", a[0]["content"])], choices=list(LABELS)) for a in asks]
    assert [m.content for m in tuned] == fallback
    base = resolve_model("local:gemma-3-270m", settings=settings)
    plain = [base.invoke([("human", a[0]["content"])], choices=list(LABELS)) for a in asks]
    confidence = [sum(m.response_metadata["confidence"] for m in ms) / len(ms) for ms in (tuned, plain)]
    assert confidence[0] > confidence[1] + 0.05  # the adapter is applied, and sure of its labels
    ask = [("human", asks[0][0]["content"])]
    # Free generation: llama.cpp's greedy answer with the GGUF adapter equals transformers + PEFT.
    assert llm.invoke(ask, max_tokens=6).content.split("\n")[0].strip() == complete("tiny", asks[0],
                                                                                     settings=settings).strip()


_KILLED_RUN = """
import sys
from pathlib import Path
from plait.config import Settings
from plait.finetune.lora import train
from tests_finetune_data import EXAMPLES, VALIDATION, OPTIONS
train("tiny", EXAMPLES, validation=VALIDATION, options=OPTIONS, progress=False,
      settings=Settings(home=Path(sys.argv[1]), tracing=False))
"""


@pytest.mark.real
def test_resume_after_kill_gives_the_uninterrupted_result(trained, tmp_path):
    info, settings = trained
    (tmp_path / "tests_finetune_data.py").write_text(f"from plait.finetune.lora import TrainOptions\n"
                                                     f"EXAMPLES = {EXAMPLES!r}\nVALIDATION = {VALIDATION!r}\n"
                                                     f"OPTIONS = {OPTIONS!r}\n")
    home = tmp_path / "home"
    checkpoint = home / "adapters" / "tiny" / "checkpoint" / "state.pt"
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(_KILLED_RUN), str(home)], cwd=tmp_path)
    try:
        deadline = time.time() + 240
        while not checkpoint.exists() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.2)
        assert checkpoint.exists(), "the training subprocess wrote no checkpoint"
    finally:
        proc.kill()
        proc.wait()
    assert not (home / "adapters" / "tiny" / "adapter.json").exists()  # killed before the end
    resumed = train("tiny", EXAMPLES, validation=VALIDATION, options=OPTIONS, progress=False, resume=True,
                    settings=Settings(home=home, tracing=False))
    assert resumed.metrics["steps"] == 9 and resumed.metrics["epochs_run"] == 3
    ours = load_file(home / "adapters" / "tiny" / "peft" / "adapter_model.safetensors")
    reference = load_file(settings.home / "adapters" / "tiny" / "peft" / "adapter_model.safetensors")
    assert ours.keys() == reference.keys()
    assert all(abs(ours[k] - reference[k]).max() < 1e-4 for k in ours)


@pytest.mark.real
def test_early_stopping_keeps_the_best_epoch(home):
    # Validation answers contradict the training labels: the better the fit, the worse the
    # validation loss, so training stops after one epoch without improvement.
    swapped = [{"messages": [e["messages"][0], {"role": "assistant", "content": "greeting"}]}
               for e in EXAMPLES[:4]]
    options = replace(OPTIONS, epochs=6, patience=1)
    info = train("stops", EXAMPLES, validation=swapped, options=options, progress=False,
                 settings=Settings(home=home, tracing=False))
    assert info.metrics["epochs_run"] < 6


@pytest.mark.real
def test_incremental_training_starts_from_an_adapter(trained):
    info, settings = trained
    more = [{"messages": [{"role": "user", "content": "Text: my card was stolen yesterday"},
                          {"role": "assistant", "content": "card_lost"}]}] * 4
    second = train("tiny-more", more, options=replace(OPTIONS, epochs=1), base_adapter="tiny", progress=False,
                   settings=settings)
    assert second.metrics["first_loss"] < info.metrics["first_loss"] / 2  # it already knew the task
    with pytest.raises(PlaitError, match="no PEFT prompt-tuning weights"):
        train("pt", more, options=TrainOptions(method="prompt-tuning"), base_adapter="tiny", settings=settings)


@pytest.mark.real
def test_prompt_tuning_runs_through_the_transformers_fallback(home):
    settings = Settings(home=home, tracing=False)
    options = replace(OPTIONS, method="prompt-tuning", learning_rate=None, num_virtual_tokens=4, epochs=1)
    info = train("prompt", EXAMPLES, options=options, progress=False, settings=settings)
    assert info.gguf is None and info.hyperparameters["learning_rate"] == 3e-2
    assert isinstance(complete("prompt", EXAMPLES[0]["messages"][:-1], max_tokens=4, settings=settings), str)
    assert predict_labels("prompt", [EXAMPLES[0]["messages"][:-1]], list(LABELS), settings=settings)[0] in LABELS


@pytest.mark.real
def test_bad_examples_name_the_example_and_the_fix():
    too_long = {"messages": [{"role": "user", "content": "word " * 600}, {"role": "assistant", "content": "x"}]}
    with pytest.raises(PlaitError, match=r"Example 2 is \d+ tokens, over max_tokens=512"):
        train("bad", [EXAMPLES[0], EXAMPLES[1], too_long], progress=False)
    with pytest.raises(PlaitError, match="Example 1: the last message must be the assistant's answer"):
        train("bad", [EXAMPLES[0], {"messages": EXAMPLES[1]["messages"][:-1]}], progress=False)


@pytest.mark.real
def test_a_stop_hook_stops_before_a_step_and_resume_continues_there(trained, tmp_path):
    info, settings = trained
    elsewhere = Settings(home=tmp_path / "home", tracing=False)
    first: list = []
    with pytest.raises(TrainingStopped, match="at step 4 of 9") as stopped:
        train("tiny", EXAMPLES, validation=VALIDATION, options=OPTIONS, progress=False, settings=elsewhere,
              on_progress=first.append, should_stop=lambda: sum(p.kind == "step" for p in first) >= 4)
    assert stopped.value.step == 4 and [p.kind for p in first] == ["step"] * 3 + ["epoch", "step"]
    assert first[3].val_loss is not None and all(p.checkpoint for p in first)  # OPTIONS: every step
    second: list = []
    train("tiny", EXAMPLES, validation=VALIDATION, options=OPTIONS, progress=False, settings=elsewhere,
          resume=True, on_progress=second.append)
    assert (second[0].kind, second[0].step) == ("resumed", 4)
    assert [p.step for p in second if p.kind == "step"] == [5, 6, 7, 8, 9]
    ours = load_file(elsewhere.home / "adapters" / "tiny" / "peft" / "adapter_model.safetensors")
    reference = load_file(settings.home / "adapters" / "tiny" / "peft" / "adapter_model.safetensors")
    assert all(abs(ours[k] - reference[k]).max() < 1e-4 for k in reference)


class _CharTokenizer:
    """One id per character, BOS = 1 when special tokens are added (like Gemma's tokenizer call)."""

    def __call__(self, text, add_special_tokens=True):
        from types import SimpleNamespace

        return SimpleNamespace(input_ids=([1] if add_special_tokens else []) + [ord(c) for c in text])


def test_weighted_earlier_answers_are_trained_in_the_same_pass():
    from plait.finetune.base import collate
    from plait.finetune.lora import encode_examples

    turns = [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "call", "weight": 1},
             {"role": "user", "content": "Observation: 4"}, {"role": "assistant", "content": "It is 4."}]
    [multi] = encode_examples([{"messages": turns}], _CharTokenizer(), max_tokens=512)
    labels = collate([multi], pad_id=0)["labels"][0].tolist()
    trained = "".join(chr(i) for i in labels if i != -100)
    assert trained == " call\n It is 4.\n"
    # The tokens are those of the full transcript, so every trained turn sees its real prompt.
    assert "".join(chr(i) for i in multi.ids[1:]) == "User: 2+2?\nAssistant: call\nUser: Observation: 4\nAssistant: It is 4.\n"
    unweighted = [{k: v for k, v in t.items() if k != "weight"} for t in turns]
    [last_only] = encode_examples([{"messages": unweighted}], _CharTokenizer(), max_tokens=512)
    assert last_only.ids == multi.ids and last_only.earlier == ()
