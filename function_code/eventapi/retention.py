"""Retention: purge rows past the window, and everything once the event's end plus the window has passed.

Runs from the timer in Azure and as `python -m eventapi.retention` locally.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime

from eventapi.settings import Settings, load_settings
from eventapi.storage.tables import Tables

log = logging.getLogger(__name__)


def purge(tables: Tables, settings: Settings, now: datetime) -> dict[str, int]:
    """Delete what retention says must go by `now`; return rows removed per table."""
    if now >= settings.data_delete_by:
        removed = tables.purge(written_before=None)
    else:
        removed = tables.purge(written_before=now - settings.retention)
    log.info("retention purge removed %s", removed)
    return removed


def main() -> None:
    """Run one purge against the configured storage."""
    from eventapi.services import build_tables

    logging.basicConfig(level=logging.INFO)
    settings = load_settings(os.environ)
    purge(build_tables(settings), settings, datetime.now(UTC))


if __name__ == "__main__":
    main()
