"""moto's WSGI app, for gunicorn: one worker (moto keeps its state in one process), with
the AWS behaviours of `fidelity` restored."""

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from marketscope_emulator import fidelity

fidelity.apply()
app = DomainDispatcherApplication(create_backend_app)
