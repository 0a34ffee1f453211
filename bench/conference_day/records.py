"""What the load generator writes down, one JSON object a line: every call it made, every sign-in it tried."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

CALLS_FILE = "calls.jsonl"
SIGN_INS_FILE = "sign_ins.jsonl"
# No answer at all (refused connection, timeout): counted with the 5xx as a failure.
NO_ANSWER = 0
# Sent, and the run ended (Locust stopped the user) before the answer came: neither a failure nor an answer.
CUT_OFF = -1


@dataclass
class Call:
    """One request and its answer. `who` is the attendee ("" for walls and pages); `quota` says whether
    the app counts it against the attendee's per-minute quota when it is accepted."""

    t0: float
    t1: float
    name: str
    status: int
    role: str
    who: str = ""
    quota: bool = False
    color: str = ""
    light_id: str = ""
    error: str = ""
    """Why no answer came (the client library's words), when none did."""

    @property
    def ms(self) -> float:
        return (self.t1 - self.t0) * 1000


@dataclass
class SignIn:
    """One attendee's way to a token: when they arrived, whether they consented, when the token came."""

    who: str
    role: str
    consented: bool
    arrived: float
    token_at: float | None = None
    denied_at: float | None = None
    starts: int = 0
    queued: int = 0


_Record = TypeVar("_Record", Call, SignIn)


def write(path: Path, records: Iterable[Call | SignIn]) -> None:
    """Append records to a JSON-lines file."""
    with path.open("a", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(asdict(record)) + "\n")


def read(path: Path, kind: type[_Record]) -> Iterator[_Record]:
    """The records of a JSON-lines file (none if it does not exist)."""
    if not path.exists():
        return
    known = {f.name for f in fields(kind)}
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            raw: dict[str, Any] = json.loads(line)
            yield kind(**{k: v for k, v in raw.items() if k in known})


# Endpoint labels, as the charts and the checks name them.
DEVICE = "POST /api/auth/device"
BROWSER = "browser step (verify, GitHub, callback)"
# The app's wait page in the browser step (its GitHub budget spent): when the browser got it.
BROWSER_QUEUED = "browser step queued (the app's wait page)"
TOKEN_POLL = "POST /api/auth/token (device code)"  # noqa: S105 - a label
TOKEN_REFRESH = "POST /api/auth/token (refresh)"  # noqa: S105 - a label
COMMAND = "POST /api/lights"
WALL_READ = "GET /api/lights"
ME = "GET /api/me"
ERASE = "DELETE /api/me"
AFTER_ERASE = "GET /api/me after erasure"
WALL_PAGE = "GET /api/wall"
WALL_ASSET = "GET /api/wall/<asset>"
JOIN_FORM = "GET /api/auth/verify"
ABUSE_BAD_INPUT = "abuse: bad command"
ABUSE_BAD_TOKEN = "abuse: bad token"  # noqa: S105 - a label
ABUSE_TOO_BIG = "abuse: oversized body"
ABUSE_NOT_JSON = "abuse: not JSON"

# Who made a call.
ATTENDEE = "attendee"
ABUSER = "abuser"
WALL = "wall"
JOIN = "join page"
PROBE = "unloaded probe"
