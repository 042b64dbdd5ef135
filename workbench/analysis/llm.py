"""The language model behind the interpreter, in one place: llama-cpp-python in this process (a GGUF loaded once
per process and kept), or an OpenAI-compatible server on the site's network. Both take chat messages and stream
the reply's tokens to a callback; both return the text with token counts and timings.
"""

import json
import os
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings


class ModelUnavailable(RuntimeError):
    """The configured model cannot be used; the message says what to do."""


@dataclass
class Reply:
    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    first_token_seconds: float

    @property
    def decode_tokens_per_second(self) -> float:
        decoding = self.seconds - self.first_token_seconds
        return (self.completion_tokens - 1) / decoding if self.completion_tokens > 1 and decoding > 0 else 0.0


def model_path(name_or_path: str | None = None) -> Path:
    from workbench.analysis.weights import MODELS

    name = name_or_path or settings.LLM_MODEL
    if name in MODELS:
        path = Path(settings.LLM_MODEL_DIR) / MODELS[name].file
        if not path.exists():
            raise ModelUnavailable(f"The model {name} is not installed: run `manage.py install_model {name}` (or `make install`).")
        return path
    path = Path(name)
    if not path.is_file():
        raise ModelUnavailable(f"WORKBENCH_LLM_MODEL is neither a known model nor a .gguf file that exists: {name}")
    return path


class LocalModel:
    """A GGUF in this process. One per path and process: loading takes seconds, so workers keep it."""

    _loaded: dict[tuple, "LocalModel"] = {}
    _guard = threading.Lock()

    def __init__(self, path: Path, *, threads: int, context: int, gpu_layers: int):
        try:
            from llama_cpp import Llama
        except ImportError:
            raise ModelUnavailable("llama-cpp-python is not installed in this environment (requirements.txt).") from None
        started = time.perf_counter()
        self.llama = Llama(
            model_path=str(path), n_ctx=context, n_threads=threads, n_gpu_layers=gpu_layers, verbose=False, seed=0, logits_all=False
        )
        self.path, self.threads, self.context = path, threads, context
        self.load_seconds = time.perf_counter() - started
        self.lock = threading.Lock()  # one generation at a time on one model

    @classmethod
    def get(cls, name_or_path: str | None = None) -> "LocalModel":
        path = model_path(name_or_path)
        threads = settings.LLM_THREADS or os.cpu_count() or 1
        key = (str(path), threads, settings.LLM_CONTEXT, settings.LLM_GPU_LAYERS)
        with cls._guard:
            if key not in cls._loaded:
                cls._loaded[key] = cls(path, threads=threads, context=settings.LLM_CONTEXT, gpu_layers=settings.LLM_GPU_LAYERS)
            return cls._loaded[key]

    @property
    def name(self) -> str:
        return self.path.name

    def chat(self, messages: list[dict], *, max_tokens: int | None = None, on_token: Callable[[str], None] | None = None) -> Reply:
        with self.lock:
            started = time.perf_counter()
            first = None
            pieces, completion = [], 0
            prompt_tokens = len(self.llama.tokenize(_render(messages).encode(), add_bos=False))  # close to the templated prompt
            stream = self.llama.create_chat_completion(
                messages=messages, max_tokens=max_tokens or settings.LLM_MAX_TOKENS, temperature=0.0, top_k=1, seed=0, stream=True
            )
            for chunk in stream:
                delta = chunk["choices"][0]["delta"].get("content") or ""
                if not delta:
                    continue
                if first is None:
                    first = time.perf_counter() - started
                completion += 1
                pieces.append(delta)
                if on_token:
                    on_token(delta)
            seconds = time.perf_counter() - started
            text = "".join(pieces)
            return Reply(text, prompt_tokens, completion, seconds, first or seconds)


def _render(messages: list[dict]) -> str:
    return "\n".join(f"{m['role']}: {m['content']}" for m in messages)


class EndpointModel:
    """An OpenAI-compatible chat-completions server (llama.cpp server, vLLM, Ollama) on the site's network."""

    def __init__(self, endpoint: str, model: str, api_key: str = ""):
        self.endpoint, self.model, self.api_key = endpoint.rstrip("/"), model, api_key

    @property
    def name(self) -> str:
        return f"{self.model or 'default'} at {self.endpoint}"

    def chat(self, messages: list[dict], *, max_tokens: int | None = None, on_token: Callable[[str], None] | None = None) -> Reply:
        body = {"messages": messages, "max_tokens": max_tokens or settings.LLM_MAX_TOKENS, "temperature": 0, "stream": True}
        if self.model:
            body["model"] = self.model
        url = self.endpoint + ("/chat/completions" if self.endpoint.endswith("/v1") else "/v1/chat/completions")
        request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        if self.api_key:
            request.add_header("Authorization", f"Bearer {self.api_key}")
        started, first, pieces, usage = time.perf_counter(), None, [], {}
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                for raw in response:
                    line = raw.decode("utf-8", "replace").strip()
                    if not line.startswith("data:") or line == "data: [DONE]":
                        continue
                    chunk = json.loads(line[5:])
                    usage = chunk.get("usage") or usage
                    delta = ((chunk.get("choices") or [{}])[0].get("delta") or {}).get("content") or ""
                    if delta:
                        first = first if first is not None else time.perf_counter() - started
                        pieces.append(delta)
                        if on_token:
                            on_token(delta)
        except OSError as error:
            raise ModelUnavailable(f"The LLM endpoint {self.endpoint} did not answer ({type(error).__name__}).") from None
        seconds = time.perf_counter() - started
        text = "".join(pieces)
        return Reply(text, int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", len(pieces))), seconds, first or seconds)


def get_model(name_or_path: str | None = None):
    if settings.LLM_BACKEND == "openai" and not name_or_path:
        return EndpointModel(settings.LLM_ENDPOINT, settings.LLM_ENDPOINT_MODEL, settings.LLM_API_KEY)
    return LocalModel.get(name_or_path)
