"""Flux Gallery's application factory: defaults, then the environment, then test overrides, then wiring."""

import os

from dotenv import load_dotenv
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from gallery import services as wiring
from gallery.export import static as export
from gallery.settings import DEFAULTS, Settings
from gallery.web import access, assets, errors, headers, hooks, identity, workspace, writes
from gallery.web import collections as collection_views
from gallery.web import galleries as views
from gallery.web import sharing as share_views
from gallery.workspace import cli as workspace_cli


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure the gallery app."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        load_dotenv(os.path.join(app.root_path, ".env"))  # a .env beside app.py, never overriding the environment
        # As text: each setting's own parser reads it (JSON would turn an access key "1e3" into 1000.0).
        app.config.from_prefixed_env("GALLERY", loads=str)
        app.config["ACEDATACLOUD_API_BASE_URL"] = os.environ.get(
            "ACEDATACLOUD_API_BASE_URL", DEFAULTS["ACEDATACLOUD_API_BASE_URL"])
    else:
        test_config = dict(test_config)
    token = wiring.read_token(test_config)
    if test_config:
        app.config.update(test_config)
    settings = Settings.from_config(app.config)  # a bad value stops the start here, naming the setting
    app.config.update(settings.as_config())
    # Query strings only: a gallery never takes a request body, so refuse big ones before reading them.
    app.config["MAX_CONTENT_LENGTH"] = 16 * 1024
    if settings.proxy_hops:
        # One proxy's X-Forwarded-* only: anything further left is whatever the client chose to send.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_prefix=1)
    wiring.init_app(app, settings, token)
    access.init_app(app, settings)
    identity.init_app(app, settings)  # after access: a key derived from the access key comes first
    writes.init_app(app)
    app.config["COMPRESS_REGISTER"] = False  # only the views marked @compress.compressed() are compressed
    views.compress.init_app(app)
    app.register_blueprint(views.bp)
    app.register_blueprint(share_views.bp)
    app.register_blueprint(workspace.bp)
    app.register_blueprint(collection_views.bp)
    errors.init_app(app)
    headers.init_app(app)
    assets.init_app(app)
    export.init_app(app)
    workspace_cli.init_app(app)
    hooks.init_app(app)
    return app
