"""Table storage by aggregate: sessions (with their refresh tokens), device codes, the wall, counters.

Only `tables` touches the SDK; the aggregate modules speak in rows of their own tables.
"""
