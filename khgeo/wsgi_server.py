"""Run the app under gunicorn from Python (``khgeo serve``), one access-log line per request."""

from __future__ import annotations

from flask import Flask
from gunicorn.app.base import BaseApplication

ACCESS_LOG_FORMAT = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms'


class _Server(BaseApplication):
    def __init__(self, app: Flask, options: dict):
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.application


def run(app: Flask, *, host: str, port: int, workers: int, threads: int) -> None:
    database = app.extensions["khgeo.db"]

    def post_fork(_server, _worker) -> None:
        database.engine.dispose(close=False)  # never share a pooled connection across processes

    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "timeout": 60,
        "graceful_timeout": 20,
        "accesslog": "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        "errorlog": "-",
        "loglevel": app.config["KHGEO_LOG_LEVEL"].lower(),
        "post_fork": post_fork,
        "proc_name": "khgeo",
    }
    _Server(app, options).run()
