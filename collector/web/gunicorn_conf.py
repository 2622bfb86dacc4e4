"""The gunicorn settings the project ships for the collector web: `gunicorn -c python:collector.web.gunicorn_conf`.

A deployment's own settings file (deploy/roles/ressenti_collector writes
/etc/ressenti/gunicorn.conf.py) starts from these and sets bind, workers and
threads: `from collector.web.gunicorn_conf import *`. Without such a file, the
environment says them: RESSENTI_WEB_BIND, RESSENTI_WEB_WORKERS, RESSENTI_WEB_THREADS.
What the timeouts bound: docs/provisioning.md, "gunicorn without nginx".
"""

import os
from typing import Any

__all__ = ["bind", "workers", "threads", "worker_class", "timeout", "graceful_timeout", "keepalive",
           "worker_connections", "limit_request_line", "limit_request_fields", "limit_request_field_size",
           "accesslog", "errorlog", "logger_class", "post_worker_init"]

bind = [os.environ.get("RESSENTI_WEB_BIND", "127.0.0.1:8080")]
workers = int(os.environ.get("RESSENTI_WEB_WORKERS", "2"))
# A wall display's event stream holds one thread as long as it is open; streams may take all threads
# but STREAM_PAGE_THREADS (8) of each worker (collector/web/stream_limits.py).
threads = int(os.environ.get("RESSENTI_WEB_THREADS", "32"))
# gthread with deadlines on slow clients: the request head, then each read and write of a request.
worker_class = "collector.web.gunicorn_worker.GuardedThreadWorker"
# A worker whose main loop is stuck this long is restarted (it does not bound a request).
timeout = 60
graceful_timeout = 20
# An idle kept-alive connection waits on the worker's poller, not in a thread; it is closed after this.
keepalive = 5
# Kept-alive connections per worker, beyond its threads.
worker_connections = 1000
# A request head is small: a request line of at most 4 KiB, 50 headers of at most 8 KiB.
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190
accesslog = "-"
errorlog = "-"
# Wall tokens are in URLs (/wall/<token>): the access and error logs show a fingerprint instead.
logger_class = "collector.web.log_redaction.RedactingLogger"


def post_worker_init(worker: Any) -> None:
    """Tell the app how many threads it has, so live streams always leave some for pages."""
    from collector.web import tell_threads

    tell_threads(worker.wsgi, worker.cfg.threads)
