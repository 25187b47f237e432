"""Extension objects, created unbound here and initialised in `create_app`.

Models and services import `db` from this module, so imports never loop back to the app.
"""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from server.openapi import LimberApi
from server.orm import Base

# Objects keep their loaded values after commit: a view that commits and then dumps what it saved
# would otherwise read every row back from the database.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
api = LimberApi()
# Keyed by the client address; ProxyFix (TRUSTED_PROXIES) makes that the real one behind a proxy.
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)
