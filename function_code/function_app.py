"""Azure Functions entry point: the event API as an ASGI app, and the retention timer."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import azure.functions as func
from eventapi.app import create_app
from eventapi.retention import purge
from eventapi.services import build_services
from eventapi.settings import load_settings

services = build_services(load_settings(os.environ))
app = func.AsgiFunctionApp(app=create_app(services), http_auth_level=func.AuthLevel.ANONYMOUS)


@app.timer_trigger(schedule="0 */15 * * * *", arg_name="timer", run_on_startup=False, use_monitor=True)
def retention_purge(timer: func.TimerRequest) -> None:
    """Every 15 minutes: purge rows past the retention window (everything after the event's end + window)."""
    purge(services.tables, services.settings, datetime.now(UTC))
