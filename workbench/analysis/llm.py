"""The language model behind the interpreter, in one place: llama-cpp-python in a process of its own (a GGUF loaded once
per process and kept), or an OpenAI-compatible server on the site's network. Both take chat messages and stream
the reply's tokens to a callback; both return the text with token counts and timings.
"""

import json
import os
import signal
import subprocess
import sys
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


class ModelCrashed(ModelUnavailable):
    """The model's process ended while loading or answering; the message says how (the signal, in words)."""


class LocalModel:
    """A GGUF in a process of its own (`_model_process.py`), one per path and worker process, kept loaded between
    questions: loading takes seconds. A crash of llama.cpp ends that process only; the next question starts a new
    one."""

    _loaded: dict[tuple, "LocalModel"] = {}
    _guard = threading.Lock()

    def __init__(self, path: Path, *, threads: int, context: int, gpu_layers: int):
        self.path, self.threads, self.context, self.gpu_layers = path, threads, context, gpu_layers
        self.lock = threading.Lock()  # one generation at a time on one model
        self.process: subprocess.Popen | None = None
        self.load_seconds = 0.0
        self._start()

    def _start(self) -> None:
        started = time.perf_counter()
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("WORKBENCH_", "DJANGO_"))}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "workbench.analysis._model_process",
                str(self.path),
                str(self.threads),
                str(self.context),
                str(self.gpu_layers),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=environment,
            cwd=Path(__file__).resolve().parent.parent.parent,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        ready = self._read()
        if ready.get("error"):
            self.stop()
            raise ModelUnavailable(str(ready["error"]))
        if not ready.get("ready"):
            raise ModelCrashed(f"The model could not be loaded: {self._how_it_ended()}.")
        self.load_seconds = time.perf_counter() - started

    def _read(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            return {}
        try:
            return json.loads(line)
        except ValueError:
            return {}

    def _how_it_ended(self) -> str:
        from workbench.analysis.buildcheck import describe_exit

        try:
            code = self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        text = f"the model process was {describe_exit(code)}"
        if code == -signal.SIGILL:
            text += (
                " — llama.cpp was built with instructions this CPU does not have; rebuild it portably with `make install` "
                "(see `manage.py doctor`)"
            )
        elif code in (-signal.SIGKILL, -signal.SIGSEGV, -signal.SIGABRT):
            text += " — most likely out of memory; a smaller model or a larger machine helps"
        return text

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    @classmethod
    def get(cls, name_or_path: str | None = None) -> "LocalModel":
        path = model_path(name_or_path)
        threads = settings.LLM_THREADS or os.cpu_count() or 1
        key = (str(path), threads, settings.LLM_CONTEXT, settings.LLM_GPU_LAYERS)
        with cls._guard:
            model = cls._loaded.get(key)
            if model is None or model.process.poll() is not None:  # a process that died is started again
                cls._loaded.pop(key, None)
                cls._loaded[key] = cls(path, threads=threads, context=settings.LLM_CONTEXT, gpu_layers=settings.LLM_GPU_LAYERS)
            return cls._loaded[key]

    @property
    def name(self) -> str:
        return self.path.name

    def chat(
        self,
        messages: list[dict],
        *,
        max_tokens: int | None = None,
        on_token: Callable[[str], None] | None = None,
        temperature: float = 0.0,
        seed: int = 0,
        stop: list[str] | None = None,
    ) -> Reply:
        """One reply. Temperature 0 is greedy; a candidate sampled at a higher temperature with its own seed is
        reproducible. The model process keeps the prompt's prefix evaluated, so candidates and follow-ups on the same
        table pay only for what differs."""
        with self.lock:
            if self.process.poll() is not None:
                self._start()
            started = time.perf_counter()
            first = None
            pieces = []
            request = {
                "messages": messages,
                "max_tokens": max_tokens or settings.LLM_MAX_TOKENS,
                "temperature": float(temperature),
                "seed": int(seed),
                "stop": list(stop or []),
            }
            try:
                try:
                    self.process.stdin.write(json.dumps(request) + "\n")
                    self.process.stdin.flush()
                except OSError:
                    raise ModelCrashed(f"The model stopped before answering: {self._how_it_ended()}.") from None
                while True:
                    message = self._read()
                    if not message:
                        raise ModelCrashed(f"The model stopped while answering: {self._how_it_ended()}.")
                    if message.get("done"):
                        break
                    delta = message.get("token") or ""
                    if first is None:
                        first = time.perf_counter() - started
                    pieces.append(delta)
                    if on_token:
                        on_token(delta)
            except ModelCrashed:
                raise
            except BaseException:
                self.stop()  # a cancel or an error mid-answer: the process would go on generating; start afresh next time
                raise
            seconds = time.perf_counter() - started
            return Reply("".join(pieces), int(message["prompt_tokens"]), int(message["completion_tokens"]), seconds, first or seconds)


class EndpointModel:
    """An OpenAI-compatible chat-completions server (llama.cpp server, vLLM, Ollama) on the site's network."""

    def __init__(self, endpoint: str, model: str, api_key: str = ""):
        self.endpoint, self.model, self.api_key = endpoint.rstrip("/"), model, api_key

    @property
    def name(self) -> str:
        return f"{self.model or 'default'} at {self.endpoint}"

    def chat(
        self,
        messages: list[dict],
        *,
        max_tokens: int | None = None,
        on_token: Callable[[str], None] | None = None,
        temperature: float = 0.0,
        seed: int = 0,
        stop: list[str] | None = None,
    ) -> Reply:
        body = {
            "messages": messages,
            "max_tokens": max_tokens or settings.LLM_MAX_TOKENS,
            "temperature": float(temperature),
            "seed": int(seed),
            "stream": True,
        }
        if stop:
            body["stop"] = list(stop)
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
