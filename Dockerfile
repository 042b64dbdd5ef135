# One image for web and workers. Build: docker compose build
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    WORKBENCH_DATA_DIR=/data WORKBENCH_STATIC_ROOT=/app/staticfiles
WORKDIR /app
RUN useradd --create-home --uid 10001 workbench \
    && apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
COPY requirements.txt requirements-gpu.txt ./
# WITH_GPU=1 (the worker-gpu image) adds the deep generator's packages: torch with its CUDA libraries, then the
# rest pinned exactly without their extras (see requirements-gpu.txt).
ARG WITH_GPU=0
RUN pip install --no-cache-dir -r requirements.txt \
    && if [ "$WITH_GPU" = "1" ]; then \
         pip install --no-cache-dir "torch==$(sed -n 's/^torch==//p' requirements-gpu.txt)" \
         && pip install --no-cache-dir --no-deps -r requirements-gpu.txt; \
       fi
COPY . .
RUN WORKBENCH_SECRET_KEY=build-only-secret-key-not-used-at-run-time-000 \
    WORKBENCH_MASTER_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    python manage.py collectstatic --no-input -v 0 \
    && mkdir -p /data && chown workbench /data
USER workbench
EXPOSE 8000
CMD ["gunicorn", "workbench.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", "--timeout", "3600"]
