"""Settings, read from environment variables only (documented in .env.example)."""

import os
import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from workbench.env import env_bool, env_bytes, env_float, env_int, env_list, env_path, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

# Offline by construction: the Hugging Face libraries under the deep generator (datasets, transformers,
# huggingface_hub) otherwise ping a download counter and the hub. They read these once, when first imported,
# and settings load before any of them in every process (web, workers, commands).
for _name, _value in {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_UPDATE_DOWNLOAD_COUNTS": "0",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
}.items():
    os.environ.setdefault(_name, _value)

DATA_DIR = env_path("WORKBENCH_DATA_DIR", str(BASE_DIR / "var"))
DEBUG = env_bool("WORKBENCH_DEBUG", False)


def _read_key_file(path: Path) -> str | None:
    return path.read_text().strip() if path.exists() else None


# Embedded mode keeps generated keys beside the data (see `manage.py init_embedded`);
# a real deployment passes them in the environment from its secret store.
SECRET_KEY = env_str("WORKBENCH_SECRET_KEY", _read_key_file(DATA_DIR / "secret.key") or "") or None
MASTER_KEY_B64 = env_str("WORKBENCH_MASTER_KEY", _read_key_file(DATA_DIR / "master.key") or "") or None
if SECRET_KEY is None:
    # Allowed only so that `manage.py init_embedded` can run; the system check refuses to serve.
    SECRET_KEY = "unset-" + "x" * 50
    SECRET_KEY_MISSING = True
else:
    SECRET_KEY_MISSING = False
if len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("WORKBENCH_SECRET_KEY must be at least 32 characters long")

ALLOWED_HOSTS = env_list("WORKBENCH_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("WORKBENCH_CSRF_TRUSTED_ORIGINS", "")
PORT = env_int("WORKBENCH_PORT", 8000, minimum=1)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "workbench.accounts",
    "workbench.audit",
    "workbench.jobs",
    "workbench.datasets",
    "workbench.privacy",
    "workbench.synthesis",
    "workbench.analysis",
    "workbench.releases",
    "workbench.console",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "workbench.datasets.uploads.DiscardUnclaimedUploadsMiddleware",
    "workbench.console.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "workbench.console.middleware.SubresourceGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "workbench.accounts.middleware.BearerTokenMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "workbench.urls"
WSGI_APPLICATION = "workbench.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = env_str("WORKBENCH_DATABASE_URL", f"sqlite:///{DATA_DIR / 'workbench.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web process and the worker share one SQLite file: WAL and IMMEDIATE
    # transactions keep them from failing each other with "database is locked".
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("WORKBENCH_DATABASE_URL must be a sqlite:// or postgres:// URL")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("WORKBENCH_TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env_str("WORKBENCH_STATIC_ROOT", "") or None  # only for collectstatic in images
WHITENOISE_USE_FINDERS = True  # serve straight from static/ in the embedded run, no collectstatic step

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("WORKBENCH_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"

# Uploads: small bodies only in memory; files go through our encrypting upload handler.
FILE_UPLOAD_HANDLERS = ["workbench.datasets.uploads.EncryptingUploadHandler"]
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# Ingest limits
MAX_UPLOAD_BYTES = env_bytes("WORKBENCH_MAX_UPLOAD_BYTES", 2 * 1024**3)
MAX_ROWS = env_int("WORKBENCH_MAX_ROWS", 50_000_000, minimum=1)
MAX_COLUMNS = env_int("WORKBENCH_MAX_COLUMNS", 1000, minimum=1)
MAX_CELL_CHARS = env_int("WORKBENCH_MAX_CELL_CHARS", 32_768, minimum=1)
MAX_XLSX_EXPANDED_BYTES = env_bytes("WORKBENCH_MAX_XLSX_EXPANDED_BYTES", 1024**3)
MAX_XLSX_RATIO = env_int("WORKBENCH_MAX_XLSX_RATIO", 200, minimum=1)

# Jobs
JOB_HEARTBEAT_SECONDS = env_int("WORKBENCH_JOB_HEARTBEAT_SECONDS", 10, minimum=1)
JOB_STALE_SECONDS = env_int("WORKBENCH_JOB_STALE_SECONDS", 60, minimum=2)
JOB_SWEEP_SECONDS = env_int("WORKBENCH_JOB_SWEEP_SECONDS", 30, minimum=1)
JOB_REQUEUE_QUEUED_SECONDS = env_int("WORKBENCH_JOB_REQUEUE_QUEUED_SECONDS", 600, minimum=10)
JOB_MAX_ATTEMPTS = env_int("WORKBENCH_JOB_MAX_ATTEMPTS", 2, minimum=1)

# Celery: Redis in full mode; kombu's filesystem transport (no server) in the embedded run.
BROKER_URL = env_str("WORKBENCH_BROKER_URL", "filesystem://")
CELERY_BROKER_URL = BROKER_URL
if BROKER_URL.startswith("filesystem://"):
    _broker_dir = DATA_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
elif BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 6 * 3600}
else:
    raise ImproperlyConfigured("WORKBENCH_BROKER_URL must be redis://… or filesystem://")
# Results are kept only for the chunks of fanned-out jobs (chords), and hold chunk numbers, never data.
CELERY_TASK_IGNORE_RESULT = True
RESULT_BACKEND = env_str("WORKBENCH_RESULT_BACKEND", "")
if not RESULT_BACKEND:
    RESULT_BACKEND = BROKER_URL if BROKER_URL.startswith(("redis://", "rediss://")) else f"file://{DATA_DIR / 'broker' / 'results'}"
if not RESULT_BACKEND.startswith(("redis://", "rediss://", "file://")):
    raise ImproperlyConfigured("WORKBENCH_RESULT_BACKEND must be redis://… or file:///a/folder")
CELERY_RESULT_BACKEND = RESULT_BACKEND
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "cpu"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "sweep-stale-jobs": {"task": "tasks.jobs.sweep_task", "schedule": float(JOB_SWEEP_SECONDS), "options": {"queue": "cpu"}},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
# Tests may run tasks in-process (no broker) where the test is not about Celery.
CELERY_TASK_ALWAYS_EAGER = env_bool("WORKBENCH_TASKS_EAGER", False)

# Privacy scanning
# Medical record number formats of this site: regular expressions separated by ";".
# The automatic choice of generator: no candidate is started after this many seconds of trying.
SYNTH_CHOICE_SECONDS = env_float("WORKBENCH_SYNTH_CHOICE_SECONDS", 60.0, minimum=0.0)
# Synthetic copies: the most rows one run may generate.
SYNTH_MAX_ROWS = env_int("WORKBENCH_SYNTH_MAX_ROWS", 10_000_000, minimum=1)
# Differential privacy: each dataset's total budget unless its policy sets "dp_budget".
DP_BUDGET_EPSILON = env_float("WORKBENCH_DP_BUDGET_EPSILON", 3.0)
DP_BUDGET_DELTA = env_float("WORKBENCH_DP_BUDGET_DELTA", 1e-5)
DP_DELTA_PER_RUN = 1e-6  # δ of one DP run unless the request names one
# Releases answered with differential privacy (a dataset policy's "release_mode": "dp"): the ε one request spends
# unless its declaration or the policy ("release_epsilon") says otherwise.
RELEASE_EPSILON = env_float("WORKBENCH_RELEASE_EPSILON", 0.5)
# The deep generator (optional packages of requirements-gpu.txt): its queue, device and training limits.
SYNTH_DEEP_QUEUE = env_str("WORKBENCH_DEEP_QUEUE", "gpu")
SYNTH_DEEP_DEVICE = env_str("WORKBENCH_DEEP_DEVICE", "auto")
if SYNTH_DEEP_DEVICE not in ("auto", "cpu", "cuda") and not SYNTH_DEEP_DEVICE.startswith("cuda:"):
    raise ImproperlyConfigured(f"WORKBENCH_DEEP_DEVICE must be auto, cpu, cuda or cuda:N, not {SYNTH_DEEP_DEVICE!r}.")
if SYNTH_DEEP_QUEUE not in ("cpu", "gpu"):
    raise ImproperlyConfigured(f"WORKBENCH_DEEP_QUEUE must be cpu or gpu, not {SYNTH_DEEP_QUEUE!r}.")
SYNTH_DEEP_MAX_EPOCHS = env_float("WORKBENCH_DEEP_MAX_EPOCHS", 100.0, minimum=0.01)
SYNTH_DEEP_MAX_MINUTES = env_float("WORKBENCH_DEEP_MAX_MINUTES", 30.0, minimum=0.01)
# The text model that writes a copy's free-text columns (same packages and queue as the deep generator).
# A causal language model's weights brought by the site, as a local folder (config.json, weights, tokenizer): the
# text model is then this model fine-tuned with LoRA (under DP-SGD with text_epsilon). Empty: the small LSTM
# trained from scratch. Nothing is ever downloaded.
SYNTH_TEXT_MODEL = env_str("WORKBENCH_TEXT_MODEL", "")
SYNTH_TEXT_MAX_EPOCHS = env_float("WORKBENCH_TEXT_MAX_EPOCHS", 60.0, minimum=0.01)
SYNTH_TEXT_MAX_MINUTES = env_float("WORKBENCH_TEXT_MAX_MINUTES", 20.0, minimum=0.01)
# Private working folders (mode 0700, removed when the work ends) that hold plain data for a moment: the deep
# generator's engine trains from the rows in plain Parquet, and a question's safe-tier table is decrypted there for
# the sandbox. A tmpfs is best.
SCRATCH_DIR = env_path("WORKBENCH_SCRATCH_DIR", str(DATA_DIR / "scratch"))
# The LLM code interpreter. Backend "llama-cpp" loads a GGUF in the worker (WORKBENCH_LLM_MODEL: a known model's
# name, assembled by `manage.py install_model`, or a path to any .gguf); "openai" talks to an OpenAI-compatible
# server on the site's network (llama.cpp server, vLLM, Ollama) at WORKBENCH_LLM_ENDPOINT.
LLM_BACKEND = env_str("WORKBENCH_LLM_BACKEND", "llama-cpp")
if LLM_BACKEND not in ("llama-cpp", "openai"):
    raise ImproperlyConfigured(f"WORKBENCH_LLM_BACKEND must be llama-cpp or openai, not {LLM_BACKEND!r}.")
LLM_MODEL_DIR = env_path("WORKBENCH_MODEL_DIR", str(BASE_DIR / "models"))
LLM_MODEL = env_str("WORKBENCH_LLM_MODEL", "qwen2.5-coder-1.5b")
LLM_THREADS = env_int("WORKBENCH_LLM_THREADS", 0)  # 0: as many as the machine has cores
LLM_CONTEXT = env_int("WORKBENCH_LLM_CONTEXT", 8192, minimum=512)
LLM_GPU_LAYERS = env_int("WORKBENCH_LLM_GPU_LAYERS", 0)  # -1: all layers on the GPU
LLM_MAX_TOKENS = env_int("WORKBENCH_LLM_MAX_TOKENS", 768, minimum=16)
LLM_ENDPOINT = env_str("WORKBENCH_LLM_ENDPOINT", "")
LLM_ENDPOINT_MODEL = env_str("WORKBENCH_LLM_ENDPOINT_MODEL", "")
LLM_API_KEY = env_str("WORKBENCH_LLM_API_KEY", "")
if LLM_BACKEND == "openai" and not LLM_ENDPOINT:
    raise ImproperlyConfigured("WORKBENCH_LLM_BACKEND=openai needs WORKBENCH_LLM_ENDPOINT (for example http://llm.internal:8080).")
ANALYSIS_REPAIRS = env_int("WORKBENCH_ANALYSIS_REPAIRS", 2)
ANALYSIS_HISTORY_TURNS = env_int("WORKBENCH_ANALYSIS_HISTORY_TURNS", 3)
# Self-consistency: up to this many candidate programs per question, stopping as soon as ANALYSIS_AGREE of them give
# the same answer; no program starts after ANALYSIS_BUDGET_SECONDS. 1 (the default) is one greedy program: on the
# held-out questions (BENCHMARKS.md) it answered 64.5 % fully right in a median of about 10 s of model time on 2 cores,
# 3 candidates 69.1 % in a median of 20 s a question. Raise it where answers may take twice as long (a GPU node, a batch).
ANALYSIS_CANDIDATES = env_int("WORKBENCH_ANALYSIS_CANDIDATES", 1, minimum=1)
ANALYSIS_AGREE = env_int("WORKBENCH_ANALYSIS_AGREE", 2, minimum=1)
ANALYSIS_BUDGET_SECONDS = env_int("WORKBENCH_ANALYSIS_BUDGET_SECONDS", 45, minimum=1)
SANDBOX_CPU_SECONDS = env_int("WORKBENCH_SANDBOX_CPU_SECONDS", 60, minimum=1)
SANDBOX_WALL_SECONDS = env_int("WORKBENCH_SANDBOX_WALL_SECONDS", 90, minimum=1)
SANDBOX_MEMORY_BYTES = env_bytes("WORKBENCH_SANDBOX_MEMORY", 4 * 1024**3)
# The code sandbox's container: bubblewrap (Debian package `bubblewrap`). Model code runs only when every layer
# (namespaces, landlock, seccomp) holds, unless the site names the ones it accepts to lose here; every turn says so.
SANDBOX_BWRAP = env_str("WORKBENCH_SANDBOX_BWRAP", "bwrap")
SANDBOX_ALLOW_MISSING = env_list("WORKBENCH_SANDBOX_ALLOW_MISSING", "")
# A worker that runs as root starts the box as this unprivileged uid (and the same gid), so that the code is never the
# host's root, even without capabilities; the Python tree must be readable to it. Ignored when the worker is not root.
SANDBOX_UID = env_int("WORKBENCH_SANDBOX_UID", 65534, minimum=1)
# The parent of each run's cgroup (memory with the kernel's own, pids, CPU); empty: the worker's own cgroup, v2 or v1.
SANDBOX_CGROUP = env_str("WORKBENCH_SANDBOX_CGROUP", "")
for _layer in SANDBOX_ALLOW_MISSING:
    if _layer not in ("namespaces", "landlock", "seccomp"):
        raise ImproperlyConfigured(
            f"WORKBENCH_SANDBOX_ALLOW_MISSING names {_layer!r}; it takes a comma-separated list of namespaces, landlock, seccomp."
        )

# `manage.py doctor`: how long a worker may take to answer its diagnostic job, and the free disk it asks for.
DOCTOR_WORKER_SECONDS = env_float("WORKBENCH_DOCTOR_WORKER_SECONDS", 15.0, minimum=1.0)
DOCTOR_MIN_FREE_BYTES = env_bytes("WORKBENCH_DOCTOR_MIN_FREE_DISK", 2 * 1024**3)

# Rows per chunk when free text is scanned or cleaned on several workers at once.
# Processes for a free-text scan run outside a worker (manage.py scan, the benchmarks); 0: every core.
PRIVACY_SCAN_PROCESSES = env_int("WORKBENCH_SCAN_PROCESSES", 0, minimum=0)
PRIVACY_TEXT_CHUNK_ROWS = env_int("WORKBENCH_TEXT_CHUNK_ROWS", 2000, minimum=1)
PRIVACY_MRN_PATTERNS = [p for p in env_str("WORKBENCH_MRN_PATTERNS", r"\bMRN[- ]?\d{6,10}\b;\b[A-Z]{2,3}\d{6,9}\b").split(";") if p]
for _pattern in PRIVACY_MRN_PATTERNS:
    try:
        re.compile(_pattern)
    except re.error as _error:
        raise ImproperlyConfigured(f"WORKBENCH_MRN_PATTERNS holds an invalid regular expression {_pattern!r}: {_error}") from None
SPACY_MODEL_PATH = env_str("WORKBENCH_SPACY_MODEL_PATH", "") or None

DEMO_PASSWORD = env_str("WORKBENCH_DEMO_PASSWORD", "") or None

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("WORKBENCH_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "presidio-analyzer": {"level": "ERROR"}},
}
