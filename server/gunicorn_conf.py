"""gunicorn settings shared by `make run` and `make bench` (so the benchmark measures what runs)."""

import multiprocessing
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
# Sync workers: the app is database-bound and short; 2 per core plus one is gunicorn's advice.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
timeout = 30
graceful_timeout = 10
keepalive = 5
# The app is built in each worker after the fork, so no database connection crosses fork().
preload_app = False
# No access log by default: request paths can carry invite codes (/join/<code>). When one is
# asked for, the codes in paths (and any session cookie) are written as [redacted].
accesslog = os.environ.get("ACCESS_LOG") or None
logger_class = "server.log_redaction.GunicornLogger"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
