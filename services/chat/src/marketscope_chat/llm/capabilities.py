"""What each provider/model pair supports, so requests carry only what it accepts.

`capabilities_for(provider, model)` takes the first row of `TABLE` whose provider is the
same and one of whose patterns matches the model name (lower-cased; for Hugging Face
style names such as ``meta-llama/Llama-3.1-8B-Instruct`` the part after the last ``/``),
else the provider's default row. Overrides given in code (the service settings) win over
both, field by field.

What the fields decide:

- ``tool_choice``: whether ``tool_choice`` may be sent. Without it the server's default
  applies ("auto" when tools are given) and a request for a final answer is made by
  sending no tools at all.
- ``parallel_tool_calls``: whether the ``parallel_tool_calls`` parameter may be sent. It
  says nothing about how many calls can come back: the stream accumulator takes every
  call that arrives.
- ``include_usage``: whether ``stream_options={"include_usage": true}`` may be sent; when
  no usage arrives the adapter estimates it with the offline tokenizer.
- ``context_tokens``: the context window (prompt and answer together).

Sources and assumptions (as of 2025):

- OpenAI's model pages: gpt-4o and gpt-4o-mini 128,000 tokens; gpt-4.1, -mini and -nano
  1,047,576; gpt-5, -mini and -nano 400,000 (gpt-5-chat 128,000); o1, o3, o3-mini and
  o4-mini 200,000; gpt-4-turbo 128,000; gpt-4 8,192; gpt-3.5-turbo 16,385.
- The reasoning models (o1, o3, o3-mini, o4-mini) refuse the ``parallel_tool_calls``
  parameter with 400 "Unsupported parameter" (reported against the API by LangChain,
  LangGraph and Semantic Kernel users); gpt-4o, gpt-4.1 and gpt-5 accept it.
- Every OpenAI chat model accepts ``stream_options``. Azure OpenAI accepts it from
  api-version 2024-09-01-preview (GA 2024-10-21); an older api-version needs
  ``{"include_usage": False}`` as an override.
- Azure deployments are named by their owner: the rows match deployments named after the
  model (``gpt-4o-mini``); any other name falls to Azure's default row, which assumes a
  current GPT-4-class model but does not send ``parallel_tool_calls`` (if it were an
  o-series model the parameter would be refused; leaving it out keeps the server's
  default, which is parallel calls for the models that have them).
- Unknown OpenAI models get the smallest window of the current lineup (128,000).
- OpenAI-compatible servers (Ollama, vLLM, llama.cpp, LM Studio) vary by server and
  flags rather than by model: vLLM honours ``tool_choice`` only when started with
  ``--enable-auto-tool-choice`` and a parser, Ollama ignores ``tool_choice`` and
  ``parallel_tool_calls``. So neither is sent to them by default. ``stream_options`` is
  accepted by vLLM and by Ollama (and ignored by servers that do not know it).
- Compatible windows are the models' trained windows (model cards): Llama 3.1/3.2/3.3
  131,072, Llama 3 8,192, Qwen 2.5 32,768, Qwen 3 32,768 (native, without YaRN), Mistral
  7B/Mixtral/Mistral Small 32,768, Mistral Nemo/Large 131,072, Gemma 2 8,192, Gemma 3
  131,072, Phi-4 16,384; anything else 8,192. Ollama serves a smaller ``num_ctx`` than the
  trained window unless configured, so an operator running Ollama with its defaults sets
  ``context_tokens`` as an override to what the server actually gives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from fnmatch import fnmatchcase
from typing import Any

from marketscope_chat.llm.base import Capabilities, ProviderName


@dataclass(frozen=True, slots=True)
class CapabilityRow:
    provider: ProviderName
    patterns: tuple[str, ...]
    capabilities: Capabilities


def _openai(context: int, *, parallel: bool = True) -> Capabilities:
    return Capabilities(
        tool_choice=True, parallel_tool_calls=parallel, include_usage=True, context_tokens=context
    )


def _compatible(context: int) -> Capabilities:
    return Capabilities(
        tool_choice=False, parallel_tool_calls=False, include_usage=True, context_tokens=context
    )


# OpenAI model families; Azure deployments named after the model match the same rows.
# More specific patterns come first: the first match wins.
_OPENAI_FAMILIES: tuple[tuple[tuple[str, ...], Capabilities], ...] = (
    (("gpt-5-chat*",), _openai(128_000)),
    (("gpt-5*",), _openai(400_000)),
    (("gpt-4.1*",), _openai(1_047_576)),
    (("gpt-4o*",), _openai(128_000)),
    (("gpt-4-turbo*", "gpt-4-1106*", "gpt-4-0125*"), _openai(128_000)),
    (("gpt-4-32k*",), _openai(32_768)),
    (("gpt-4", "gpt-4-0613", "gpt-4-0314"), _openai(8_192)),
    (("gpt-3.5-turbo*", "gpt-35-turbo*"), _openai(16_385)),
    (("o1-mini*", "o1-preview*"), _openai(128_000, parallel=False)),
    (("o1*", "o3*", "o4-mini*"), _openai(200_000, parallel=False)),
)

_COMPATIBLE_FAMILIES: tuple[tuple[tuple[str, ...], Capabilities], ...] = (
    (
        ("llama3.1*", "llama3.2*", "llama3.3*", "*llama-3.1*", "*llama-3.2*", "*llama-3.3*"),
        _compatible(131_072),
    ),
    (("llama3*", "*llama-3-*", "*llama-3"), _compatible(8_192)),
    (("qwen2.5*", "qwen3*"), _compatible(32_768)),
    (("mistral-nemo*", "mistral-large*"), _compatible(131_072)),
    (("mistral*", "mixtral*"), _compatible(32_768)),
    (("gemma2*", "gemma-2-*"), _compatible(8_192)),
    (("gemma3*", "gemma-3-*"), _compatible(131_072)),
    (("phi4*", "phi-4*"), _compatible(16_384)),
)

TABLE: tuple[CapabilityRow, ...] = (
    *(CapabilityRow("openai", patterns, caps) for patterns, caps in _OPENAI_FAMILIES),
    *(CapabilityRow("azure", patterns, caps) for patterns, caps in _OPENAI_FAMILIES),
    *(CapabilityRow("compatible", patterns, caps) for patterns, caps in _COMPATIBLE_FAMILIES),
)

DEFAULTS: Mapping[ProviderName, Capabilities] = {
    "openai": _openai(128_000),
    "azure": _openai(128_000, parallel=False),
    "compatible": _compatible(8_192),
    # The offline engine answers from the conversation itself; nothing is sent anywhere.
    "offline": Capabilities(
        tool_choice=True, parallel_tool_calls=True, include_usage=False, context_tokens=32_768
    ),
}

_FIELDS = frozenset(field.name for field in fields(Capabilities))


def capabilities_for(
    provider: ProviderName, model: str, overrides: Mapping[str, object] | None = None
) -> Capabilities:
    """The capabilities of ``model`` at ``provider``, with ``overrides`` applied."""
    name = model.strip().lower().rsplit("/", 1)[-1]
    found = next(
        (
            row.capabilities
            for row in TABLE
            if row.provider == provider
            and any(fnmatchcase(name, pattern) for pattern in row.patterns)
        ),
        DEFAULTS[provider],
    )
    return apply_overrides(found, overrides or {})


def apply_overrides(capabilities: Capabilities, overrides: Mapping[str, object]) -> Capabilities:
    """``capabilities`` with the fields ``overrides`` names replaced; a misspelt field or
    a value of the wrong type is refused rather than ignored."""
    unknown = sorted(set(overrides) - set(_FIELDS))
    if unknown:
        raise ValueError(
            f"unknown capability override(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(_FIELDS))}"
        )
    for key, value in overrides.items():
        if key == "context_tokens":
            # bool is an int subclass: True would otherwise pass as a window of one token.
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(
                    f"capability override context_tokens must be a positive int, not {value!r}"
                )
        elif not isinstance(value, bool):
            raise ValueError(f"capability override {key} must be true or false, not {value!r}")
    checked: dict[str, Any] = dict(overrides)  # each value's type checked above
    return replace(capabilities, **checked)
