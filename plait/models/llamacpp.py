"""A LangChain chat model over llama-cpp-python: plait's local, offline backend."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.base import LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableLambda, RunnableMap, RunnablePassthrough
from pydantic import Field

from plait.errors import ModelFileError, PlaitError
from plait.models.capability import Capabilities
from plait.models.choices import choose, choose_slots
from plait.models.render import TRANSCRIPT_STOPS, Rendered, render_transcript, render_with_template
from plait.models.settings import ModelSettings
from plait.models.structured import StructuredSpec, structured_spec
from plait.prompts import SCHEMA_HINT

logger = logging.getLogger("plait.llamacpp")
STRUCTURED_MIN_TOKENS = 1024
"""Token budget for structured output: JSON must be allowed to close."""
STRUCTURED_REPEAT_PENALTY = 1.15
"""Small models loop inside free-text JSON fields; a mild penalty ends them (measured: 10 s -> 3 s)."""


@dataclass
class _Loaded:
    """One llama.cpp model and the lock that serialises its use (a context is not thread-safe)."""

    llama: Any
    lock: threading.Lock
    template: str | None
    bos: str
    eos: str


_LOAD_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _quiet_llama_logs() -> Any:
    """Send llama.cpp's own log lines to Python logging; only errors reach stderr by default.

    llama-cpp-python prints some notices (e.g. about the SWA cache) even with verbose=False,
    which garbles CLI output.
    """
    import llama_cpp

    @llama_cpp.llama_log_callback
    def forward(level: int, text: bytes, user_data: Any) -> None:
        # ggml levels: 1 debug, 2 info, 3 warn, 4 error, 5 continuation. Its warnings are notices
        # for llama.cpp developers (cache layouts), so they go to INFO.
        message = text.decode("utf-8", "replace").rstrip()
        if level == 4:
            logger.error(message)
        elif level == 3:
            logger.info(message)
        else:
            logger.debug(message)

    llama_cpp.llama_log_set(forward, None)
    return forward  # cached, so ctypes keeps the callback alive


@lru_cache(maxsize=4)
def _load(path: str, n_ctx: int, n_threads: int, n_batch: int, lora_path: str | None) -> _Loaded:
    # Cached so every node and thread in a process shares one copy of the weights.
    from llama_cpp import Llama

    _quiet_llama_logs()
    try:
        llama = Llama(model_path=path, n_ctx=n_ctx, n_threads=n_threads, n_batch=n_batch,
                      lora_path=lora_path, verbose=False)
    except (ValueError, RuntimeError) as exc:
        raise ModelFileError(f"llama.cpp could not load {path}: {exc}. Check that it is a GGUF file "
                             "for a llama.cpp-supported architecture.") from exc
    model = llama._model
    eos_id, bos_id = llama.token_eos(), llama.token_bos()
    return _Loaded(
        llama=llama,
        lock=threading.Lock(),
        template=llama.metadata.get("tokenizer.chat_template"),
        bos=model.token_get_text(bos_id) if bos_id >= 0 else "",
        eos=model.token_get_text(eos_id) if eos_id >= 0 else "",
    )


@lru_cache(maxsize=64)
def _grammar(text: str) -> Any:
    from llama_cpp import LlamaGrammar

    return LlamaGrammar.from_string(text, verbose=False)


class LlamaCppChat(BaseChatModel):
    """Chat model running a GGUF file in-process with llama.cpp.

    Example:
        >>> from plait.models import resolve_model
        >>> llm = resolve_model("local:gemma-3-270m")
        >>> llm.invoke("The capital of France is").content  # doctest: +SKIP
    """

    model_path: str
    """Path of the GGUF file."""
    model_ref: str = ""
    """The plait reference this model was built from, recorded in traces."""
    lora_path: str | None = None
    """Optional GGUF LoRA adapter applied on load."""
    adapter_task: dict[str, Any] = Field(default_factory=dict)
    """The adapter's task from its ``adapter.json`` (e.g. the prompt it was trained on), for nodes to follow."""
    n_ctx: int = 4096
    """Context window in tokens."""
    n_threads: int = Field(default_factory=lambda: os.cpu_count() or 1)
    """CPU threads for generation."""
    n_batch: int = 512
    """Prompt tokens evaluated per batch."""
    temperature: float = 0.0
    """Sampling temperature; 0 is greedy and deterministic."""
    top_p: float = 0.95
    """Nucleus sampling mass."""
    repeat_penalty: float = 1.0
    """Penalty on repeated tokens (1.0 = off)."""
    max_tokens: int = 256
    """Most tokens generated per call."""
    seed: int = 0
    """Sampling seed, so runs at temperature > 0 are reproducible."""
    stop: list[str] | None = None
    """Extra stop sequences added to every call."""
    use_chat_template: bool = True
    """Use the GGUF's chat template when it has one; else render a plain transcript."""

    @property
    def _llm_type(self) -> str:
        return "plait-llamacpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_ref": self.model_ref or f"gguf:{self.model_path}", "lora_path": self.lora_path,
                "temperature": self.temperature, "max_tokens": self.max_tokens, "seed": self.seed}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params.update(ls_provider="llamacpp", ls_model_name=self.model_ref or f"gguf:{self.model_path}")
        return params

    def get_num_tokens(self, text: str) -> int:
        """Count tokens with the model's own tokenizer (LangChain's default would fetch GPT-2's)."""
        return len(self.loaded().llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def loaded(self) -> _Loaded:
        """Return the process-wide loaded model, loading it on first use."""
        if not os.path.isfile(self.model_path):
            raise ModelFileError(f"GGUF file {self.model_path} does not exist. Check the path in your "
                                 "gguf: reference, or use local:gemma-3-270m.")
        # lru_cache does not stop two threads loading at once; two loads (and two log
        # callbacks, one freed while llama.cpp still calls it) crash the process.
        with _LOAD_LOCK:
            return _load(self.model_path, self.n_ctx, self.n_threads, self.n_batch, self.lora_path)

    def render(self, messages: Sequence[BaseMessage]) -> Rendered:
        """Render messages into the prompt text this model will see."""
        loaded = self.loaded()
        if self.use_chat_template and loaded.template:
            return render_with_template(messages, template=loaded.template, bos=loaded.bos, eos=loaded.eos)
        return render_transcript(messages)

    def _params(self, rendered: Rendered, stop: list[str] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        stops = list(dict.fromkeys([*rendered.stop, *(self.stop or []), *(stop or [])]))
        grammar = kwargs.pop("grammar", None)
        params = {
            "max_tokens": kwargs.pop("max_tokens", self.max_tokens),
            "temperature": kwargs.pop("temperature", self.temperature),
            "top_p": kwargs.pop("top_p", self.top_p),
            "repeat_penalty": kwargs.pop("repeat_penalty", self.repeat_penalty),
            "seed": kwargs.pop("seed", self.seed),
            "stop": stops,
            "grammar": _grammar(grammar) if grammar else None,
        }
        kwargs.pop("ls_structured_output_format", None)
        if kwargs:
            raise TypeError(f"Unknown generation option(s) {sorted(kwargs)} for LlamaCppChat; valid: "
                            f"{sorted(params)}.")
        return params

    def _check_fits(self, loaded: _Loaded, prompt: str, max_tokens: int) -> int:
        n_prompt = len(loaded.llama.tokenize(prompt.encode("utf-8"), add_bos=True, special=True))
        if n_prompt + 1 > self.n_ctx:
            raise PlaitError(f"The prompt is {n_prompt} tokens but the context window is {self.n_ctx}. "
                             "Shorten the input, or raise n_ctx under [local] in plait.toml.")
        return n_prompt

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        rendered = self.render(messages)
        choices = kwargs.pop("choices", None)
        slots = kwargs.pop("slots", None)
        if choices:
            return self._choose(rendered, list(choices), slots)
        params = self._params(rendered, stop, kwargs)
        loaded = self.loaded()
        with loaded.lock:
            self._check_fits(loaded, rendered.prompt, params["max_tokens"])
            out = loaded.llama.create_completion(rendered.prompt, **params)
        choice, usage = out["choices"][0], out["usage"]
        message = AIMessage(
            content=choice["text"],
            usage_metadata={"input_tokens": usage["prompt_tokens"], "output_tokens": usage["completion_tokens"],
                            "total_tokens": usage["total_tokens"]},
            response_metadata={"finish_reason": choice.get("finish_reason"), "model_name": self.model_ref},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _choose(self, rendered: Rendered, choices: list[str], slots: int | None) -> ChatResult:
        """Answer with one of ``choices`` (or ``slots`` numbered lines of them), with confidences."""
        loaded = self.loaded()
        # A plain transcript ends in "Assistant:", so the answer's natural first token has a space.
        space = rendered.stop == TRANSCRIPT_STOPS
        with loaded.lock:
            self._check_fits(loaded, rendered.prompt, 16 * (slots or 1))
            if slots:
                picks = choose_slots(loaded.llama, rendered.prompt, slots, choices, leading_space=space)
            else:
                picks = [choose(loaded.llama, rendered.prompt, choices, leading_space=space)]
        content = "\n".join(f"{i}. {p.value}" for i, p in enumerate(picks, 1)) if slots else picks[0].value
        n_in, n_out = picks[0].prompt_tokens, sum(p.completion_tokens for p in picks) + 2 * len(picks) - 2
        message = AIMessage(
            content=content,
            usage_metadata={"input_tokens": n_in, "output_tokens": n_out, "total_tokens": n_in + n_out},
            response_metadata={"finish_reason": "stop", "model_name": self.model_ref,
                               "confidence": [p.confidence for p in picks] if slots else picks[0].confidence,
                               "evaluated_prompt_tokens": sum(p.evaluated_tokens for p in picks)},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        rendered = self.render(messages)
        choices = kwargs.pop("choices", None)
        slots = kwargs.pop("slots", None)
        if choices:
            # A choice is scored whole, never generated; streaming (e.g. a graph streamed in LangGraph's
            # "messages" mode) gets it, with its confidence, as one chunk.
            message = self._choose(rendered, list(choices), slots).generations[0].message
            chunk = ChatGenerationChunk(message=AIMessageChunk(**message.model_dump(include={
                "content", "usage_metadata", "response_metadata"})))
            if run_manager:
                run_manager.on_llm_new_token(str(message.content), chunk=chunk)
            yield chunk
            return
        params = self._params(rendered, stop, kwargs)
        loaded = self.loaded()
        pieces: list[str] = []
        finish = None
        with loaded.lock:
            n_prompt = self._check_fits(loaded, rendered.prompt, params["max_tokens"])
            for part in loaded.llama.create_completion(rendered.prompt, stream=True, **params):
                choice = part["choices"][0]
                finish = choice.get("finish_reason") or finish
                if choice["text"]:
                    pieces.append(choice["text"])
                    chunk = ChatGenerationChunk(message=AIMessageChunk(content=choice["text"]))
                    if run_manager:
                        run_manager.on_llm_new_token(choice["text"], chunk=chunk)
                    yield chunk
            n_out = len(loaded.llama.tokenize("".join(pieces).encode("utf-8"), add_bos=False, special=True))
        yield ChatGenerationChunk(message=AIMessageChunk(
            content="",
            usage_metadata={"input_tokens": n_prompt, "output_tokens": n_out, "total_tokens": n_prompt + n_out},
            response_metadata={"finish_reason": finish, "model_name": self.model_ref},
        ))

    def plait_capabilities(self) -> Capabilities:
        """Grammar and choice decoding, in-process, GGUF LoRA adapters; no native tools or log-probabilities."""
        return Capabilities(constrained=True, in_process=True, lora_adapters=True)

    def constrained_output(self, schema: Any, *, schema_hint: bool = True,
                           settings: ModelSettings | None = None) -> Runnable[LanguageModelInput, AIMessage]:
        """Return a Runnable whose reply message always fits ``schema``, unparsed (it streams as text).

        This is :meth:`with_structured_output` before parsing, for callers that want the text
        itself (an OpenAI-compatible server). ``settings`` overlay the structured defaults (a
        larger token budget, a mild repeat penalty for JSON).

        Example:
            >>> reply = llm.constrained_output({"type": "object"}).invoke("Describe Paris.")  # doctest: +SKIP
            >>> json.loads(reply.content)  # doctest: +SKIP
        """
        return self._constrained(structured_spec(schema), schema_hint, settings)

    def _constrained(self, spec: StructuredSpec, schema_hint: bool,
                     settings: ModelSettings | None) -> Runnable[LanguageModelInput, AIMessage]:
        defaults = ModelSettings(max_tokens=max(self.max_tokens, STRUCTURED_MIN_TOKENS))
        if self.repeat_penalty == 1.0 and spec.json_schema is not None:
            defaults = defaults.merged_with(ModelSettings(repeat_penalty=STRUCTURED_REPEAT_PENALTY))
        bound: Runnable = self.bind(grammar=spec.grammar, **defaults.merged_with(settings).options(),
                                    ls_structured_output_format={"schema": spec.json_schema or {}})
        if spec.json_schema is None or not schema_hint:
            return bound
        # The grammar guarantees validity; showing the schema is what makes the content sensible.
        hint = SCHEMA_HINT.format(schema=json.dumps(spec.json_schema))
        return RunnableLambda(lambda value: [SystemMessage(hint), *self._convert_input(value).to_messages()],
                              name="schema_hint") | bound

    def with_structured_output(self, schema: Any, *, include_raw: bool = False, schema_hint: bool = True,
                               **kwargs: Any) -> Runnable[LanguageModelInput, Any]:
        """Return a Runnable whose output always fits ``schema`` (constrained decoding).

        ``schema`` is a Pydantic model class, ``typing.Literal[...]``, an Enum or a JSON schema.
        For JSON output a system message (:data:`plait.prompts.SCHEMA_HINT`) shows the model the
        schema; pass ``schema_hint=False`` when your prompt already describes it.

        Example:
            >>> from typing import Literal
            >>> yes_no = llm.with_structured_output(Literal["yes", "no"])  # doctest: +SKIP
            >>> yes_no.invoke("Is water wet? Answer yes or no.")  # doctest: +SKIP
            'yes'
        """
        spec = structured_spec(schema)
        bound = self._constrained(spec, schema_hint, None)
        parse = RunnableLambda(lambda message: spec.parse(message.content), name="parse_structured")
        if not include_raw:
            return bound | parse
        parsed = RunnablePassthrough.assign(parsed=lambda d: spec.parse(d["raw"].content), parsing_error=lambda _: None)
        # with exception_key, the fallback receives the exception under "parsing_error".
        fallback = RunnablePassthrough.assign(parsed=lambda _: None)
        return RunnableMap(raw=bound) | parsed.with_fallbacks([fallback], exception_key="parsing_error")
