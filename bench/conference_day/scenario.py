"""The parameters of one rehearsal, shared by the driver and the Locust process (through one environment variable)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

# How the driver hands the scenario and the results folder to the Locust process.
SCENARIO_ENV = "CONFERENCE_DAY_SCENARIO"
# GitHub: 2,000 access-token requests an hour per OAuth app, and the same figure for GitHub Apps
# (docs.github.com, "Rate limits for OAuth apps" and the REST API's secondary rate limits).
GITHUB_TOKEN_REQUESTS_PER_HOUR = 2000
# Past the last window a wave needs: a device's last poll and the queue's wait (both seconds).
WAVE_SLACK_SECONDS = 30
# A window of the app's quotas (eventapi.settings.QUOTA_WINDOW).
WINDOW_SECONDS = 60
# Bad input is refused before it is counted; these are the answers an abusive client must get.
ABUSE_STATUSES = frozenset({401, 413, 415, 422, 429})
# Colors are a command's identity in storage: ordinary commands count up from 1, the unloaded
# probe's from this value, so the two never meet in a run of fewer than a million commands.
PROBE_COLOR_BASE = 0xF00000


@dataclass(frozen=True)
class Scenario:
    """One rehearsal: who comes, how hard they push, for how long, and what the app is set to."""

    attendees: int = 120
    """Attendees who sign in in the keynote wave (a few of them decline GitHub's consent, a few erase)."""
    duration_seconds: int = 600
    """Locust stops every user after this long (the run stops by itself)."""
    arrival_seconds: int = 120
    """The keynote says "sign in now": every client starts within this long."""
    walls: int = 3
    """Big screens polling GET /api/lights."""
    join_pages: int = 5
    """Phones with the wall page and the sign-in form open, reloading now and then."""
    abusers: int = 3
    """Signed-in clients that send over their quota, bad input and bad tokens."""
    commands_per_minute: int = 30
    """The app's per-attendee quota (EVENTSTACK_COMMANDS_PER_MINUTE)."""
    sign_ins_per_minute: int = 30
    """The app's GitHub budget (EVENTSTACK_SIGN_INS_PER_MINUTE), under GitHub's 2,000 an hour."""
    token_minutes: int = 2
    """Access-token lifetime: short, so that the run sees every attendee refresh a few times."""
    think_seconds: tuple[float, float] = (5.0, 15.0)
    """An attendee's pause between two actions (uniform)."""
    wall_poll_seconds: float = 2.0
    """The wall page's poll interval (wall.js DEFAULT_POLL_MS)."""
    github_latency_ms: float = 300.0
    """How long the stand-in takes to answer a token or user request, as GitHub over the internet."""
    decline_fraction: float = 0.03
    """Attendees who refuse GitHub's consent: they must get access_denied, never a token."""
    erase_fraction: float = 0.03
    """Attendees who erase their data during the steady phase."""
    max_p99_ratio: float | None = 25.0
    """Fail if the steady phase's command p99 exceeds this many unloaded medians (None: report only)."""
    seed: int = 2026

    def __post_init__(self) -> None:
        positive = (
            "attendees",
            "duration_seconds",
            "arrival_seconds",
            "commands_per_minute",
            "sign_ins_per_minute",
            "token_minutes",
        )
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.sign_ins_per_minute * 60 > GITHUB_TOKEN_REQUESTS_PER_HOUR:
            raise ValueError(f"sign_ins_per_minute above GitHub's {GITHUB_TOKEN_REQUESTS_PER_HOUR} an hour")
        if not 0 <= self.decline_fraction < 1 or not 0 <= self.erase_fraction < 1:
            raise ValueError("decline_fraction and erase_fraction must be in [0, 1)")

    @property
    def users(self) -> int:
        """Every simulated client."""
        return self.attendees + self.abusers + self.walls + self.join_pages

    @property
    def spawn_rate(self) -> float:
        """Users started a second: the whole hall within `arrival_seconds`."""
        return self.users / self.arrival_seconds

    def wave_bounds(self, signing_in: int) -> tuple[float, float]:
        """How long a wave of `signing_in` attendees may take, in seconds, if the app's GitHub budget holds and
        is used. The budget is counted in fixed windows: a wave that needs n windows can start at the end of
        the first and finish at the start of the last (n - 2 full windows in between), and should take no
        more than n windows plus the partial one it starts in and a poll interval's slack."""
        windows = math.ceil(signing_in / self.sign_ins_per_minute)
        return max(0, windows - 2) * WINDOW_SECONDS, (windows + 1) * WINDOW_SECONDS + WAVE_SLACK_SECONDS

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Scenario:
        raw = json.loads(text)
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in raw.items() if k in known}
        if "think_seconds" in values:
            values["think_seconds"] = tuple(values["think_seconds"])
        return cls(**values)


@dataclass(frozen=True)
class Handover:
    """What the Locust process needs besides the scenario: where to write, where the GitHub stand-in is."""

    scenario: Scenario
    out_dir: str
    github_url: str

    def to_env(self) -> str:
        """The value of SCENARIO_ENV."""
        return json.dumps({**asdict(self.scenario), "out_dir": self.out_dir, "github_url": self.github_url})

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Handover:
        raw = json.loads(env[SCENARIO_ENV])
        return cls(Scenario.from_json(env[SCENARIO_ENV]), str(raw["out_dir"]), str(raw["github_url"]))
