"""moto's WSGI app, for gunicorn: one worker (moto keeps its state in one process)."""

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

app = DomainDispatcherApplication(create_backend_app)
