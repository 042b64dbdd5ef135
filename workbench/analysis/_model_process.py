"""The local model's own process: loads one GGUF with llama-cpp-python and answers chat requests, one JSON line in,
a JSON line per token out. The worker starts it (`llm.LocalModel`) and keeps it loaded between questions; if
llama.cpp dies here — an illegal instruction on a CPU the build does not suit, an abort, the OOM killer — only
this process goes, and the worker reports how it ended on the turn and takes the next job.

It imports nothing of the workbench and is given no secrets (its environment has none of WORKBENCH_*).

    python -m workbench.analysis._model_process MODEL THREADS CONTEXT GPU_LAYERS
"""

import json
import sys


def _send(document: dict) -> None:
    sys.stdout.write(json.dumps(document) + "\n")
    sys.stdout.flush()


def main(path: str, threads: int, context: int, gpu_layers: int) -> None:
    import time

    try:
        from llama_cpp import Llama
    except ImportError:
        _send({"error": "llama-cpp-python is not installed in this environment (`make install` builds it)"})
        return

    started = time.perf_counter()
    llama = Llama(model_path=path, n_ctx=context, n_threads=threads, n_gpu_layers=gpu_layers, verbose=False, seed=0, logits_all=False)
    _send({"ready": True, "load_seconds": round(time.perf_counter() - started, 3)})
    for line in sys.stdin:
        request = json.loads(line)
        messages = request["messages"]
        prompt = "\n".join(f"{m['role']}: {m['content']}" for m in messages)
        prompt_tokens = len(llama.tokenize(prompt.encode(), add_bos=False))  # close to the templated prompt
        temperature = float(request.get("temperature") or 0.0)
        sampling = {"temperature": 0.0, "top_k": 1} if temperature <= 0 else {"temperature": temperature, "top_k": 40, "top_p": 0.95}
        stream = llama.create_chat_completion(
            messages=messages,
            max_tokens=request["max_tokens"],
            seed=int(request.get("seed") or 0),
            stream=True,
            stop=request.get("stop") or None,
            **sampling,
        )
        completion = 0
        for chunk in stream:
            delta = chunk["choices"][0]["delta"].get("content") or ""
            if delta:
                completion += 1
                _send({"token": delta})
        _send({"done": True, "prompt_tokens": prompt_tokens, "completion_tokens": completion})


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
