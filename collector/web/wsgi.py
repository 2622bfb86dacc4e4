"""WSGI entry point for gunicorn: `gunicorn -k gthread --threads 32 collector.web.wsgi:app`.

Configured by RESSENTI_DATABASE, RESSENTI_BROKER_URL and RESSENTI_SECRET_KEY.
"""

from collector.web import create_app

app = create_app()
