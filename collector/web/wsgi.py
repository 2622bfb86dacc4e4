"""WSGI entry point for gunicorn: `gunicorn -c python:collector.web.gunicorn_conf collector.web.wsgi:app`.

Configured by RESSENTI_DATABASE, RESSENTI_BROKER_URL and RESSENTI_SECRET_KEY.
"""

from collector.web import create_app

app = create_app()
