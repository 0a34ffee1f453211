"""The attendees of a rehearsed conference day, for Locust (run by `python -m bench.conference_day`).

Every call is written down (records.Call) with who made it and whether it counts against their
quota, so that the checks can tell a deserved 429 from an undeserved one, and every command carries
a color of its own, so that storage can be compared command by command.
"""

from __future__ import annotations

import itertools
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

from locust import HttpUser, between, constant, events, task
from locust.exception import StopUser
from locust.user.task import LOCUST_STATE_RUNNING, LOCUST_STATE_STOPPING, LOCUST_STATE_WAITING

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "function_code")]

from eventapi.models import Pattern  # noqa: E402
from eventapi.settings import MAX_BODY_BYTES  # noqa: E402

from bench.conference_day import records  # noqa: E402 - the paths above first
from bench.conference_day.records import Call, SignIn  # noqa: E402
from bench.conference_day.scenario import WINDOW_SECONDS, Handover  # noqa: E402

HANDOVER = Handover.from_env(os.environ)
SCENARIO = HANDOVER.scenario
OUT = Path(HANDOVER.out_dir)
PATTERNS = [pattern.value for pattern in Pattern]
TIMEOUT_SECONDS = 30
# The played browser follows the app's wait page until the budget has room: up to a minute or two.
BROWSER_TIMEOUT_SECONDS = 180
# An abusive client sends commands at this multiple of the quota's pace.
ABUSE_PACE = 2
# RFC 8628 section 3.5: each slow_down adds this to the polling interval.
SLOW_DOWN_SECONDS = 5
# Refresh this long before the access token expires, as a client library would.
REFRESH_MARGIN_SECONDS = 20
# An attendee reads the code and opens the page on their phone: a few seconds.
READING_SECONDS = (3.0, 10.0)
# GitHub ids of the simulated attendees start here (distinct from any test's).
FIRST_GITHUB_ID = 70_000_000
# Every GitHub trip has to happen while the run lasts; a sign-in still queued then is written down as such.
_started = time.time()
_calls: list[Call] = []
_sign_ins: list[SignIn] = []
_numbers = itertools.count(1)
_colors = itertools.count(1)
_random = random.Random(SCENARIO.seed)


def _next_color() -> str:
    return f"{next(_colors):06x}"


def _seconds_to_next_window(now: float) -> float:
    return WINDOW_SECONDS - (now % WINDOW_SECONDS)


def _write_down(**_: Any) -> None:
    records.write(OUT / records.CALLS_FILE, _calls)
    records.write(OUT / records.SIGN_INS_FILE, _sign_ins)


events.quitting.add_listener(_write_down)  # type: ignore[no-untyped-call]  # Locust leaves it unannotated


class _Client(HttpUser):
    """A caller that writes down every call it makes."""

    abstract = True
    role = records.ATTENDEE

    def on_start(self) -> None:
        self.number = next(_numbers)
        self.who = f"{self.role}-{self.number}"
        self.rng = random.Random(_random.random())

    def call(
        self,
        method: str,
        url: str,
        name: str,
        *,
        quota: bool = False,
        color: str = "",
        token: str = "",
        **kwargs: Any,
    ) -> tuple[int, Any]:
        """Make one call; return its status (records.NO_ANSWER if none came) and its JSON body, if any."""
        headers = dict(kwargs.pop("headers", {}))
        if token:
            headers["Authorization"] = f"Bearer {token}"
        # Written down before it is sent: a call the end of the run cuts off stays on the record as such
        # (its command may have been stored).
        record = Call(time.time(), time.time(), name, records.CUT_OFF, self.role, self.who, quota, color)
        _calls.append(record)
        body: Any = None
        with self.client.request(
            method,
            url,
            name=name,
            headers=headers,
            timeout=BROWSER_TIMEOUT_SECONDS if name == records.BROWSER else TIMEOUT_SECONDS,
            catch_response=True,
            **kwargs,
        ) as response:
            status = response.status_code or records.NO_ANSWER
            if status == records.NO_ANSWER or status >= 500:
                response.failure(f"{status}")
            else:
                response.success()
            if response.headers.get("content-type", "").startswith("application/json"):
                try:
                    body = response.json()
                except ValueError:
                    body = None
            error = str(response.error or "")[:200] if status == records.NO_ANSWER else ""
        record.light_id = str(body.get("id", "")) if isinstance(body, dict) and status == 202 else ""
        record.t1, record.status, record.error = time.time(), status, error
        return status, body


class _Device:
    """A device polling the token endpoint as RFC 8628 section 3.5 asks: never sooner than `interval` after
    its last poll, and 5 seconds slower after each slow_down, for this and every later poll."""

    def __init__(self, user: _SignedIn, device_code: str, interval: float) -> None:
        self.user = user
        self.device_code = device_code
        self.interval = interval
        self.last_poll = time.time()

    def wait(self) -> float:
        """Seconds until the next poll is allowed."""
        return max(0.0, self.last_poll + self.interval - time.time())

    def poll(self) -> str:
        """Wait for the interval, poll once: "token", "pending", "denied" or "restart" (the code is gone)."""
        self.user._sleep(self.wait())
        status, answer = self.user.call(
            "POST", "/api/auth/token", records.TOKEN_POLL, json={"device_code": self.device_code}
        )
        self.last_poll = time.time()
        if status == 200:
            self.user._keep(answer)
            self.user.record.token_at = time.time()
            return "token"
        error = answer.get("error") if isinstance(answer, dict) else None
        if error == "slow_down":
            self.interval += SLOW_DOWN_SECONDS
        if error in ("authorization_pending", "slow_down") or status == records.NO_ANSWER:
            return "pending"
        if error == "access_denied":
            self.user.record.denied_at = time.time()
            return "denied"
        return "restart"


class _SignedIn(_Client):
    """A caller who signs in through the device flow and the GitHub stand-in, then keeps its token fresh."""

    abstract = True
    consents = True

    def on_start(self) -> None:
        super().on_start()
        self.access = ""
        self.refresh = ""
        self.expires_at = 0.0
        self.record = SignIn(self.who, self.role, self.consents, time.time())
        _sign_ins.append(self.record)
        self.sign_in()  # without a token (declined), every task below just waits

    @property
    def signed_in(self) -> bool:
        return bool(self.access)

    def sign_in(self) -> bool:
        """Device code, the browser step (queued while the app's GitHub budget is spent), then the token."""
        github_id = FIRST_GITHUB_ID + self.number
        while True:
            self.record.starts += 1
            status, started = self.call("POST", "/api/auth/device", records.DEVICE)
            if status != 200:
                self._sleep(5)
                continue
            device = _Device(self, str(started["device_code"]), float(started["interval"]))
            self._sleep(self.rng.uniform(*READING_SECONDS))
            if self._browser_step(str(started["user_code"]), github_id, device) == "restart":
                continue
            outcome = self._redeem(device)
            if outcome == "restart":
                continue
            return outcome == "token"

    def _browser_step(self, user_code: str, github_id: int, device: _Device) -> str:
        stand_in = HANDOVER.github_url
        while True:
            if self.consents:
                payload = {"user_code": user_code, "login": f"attendee{github_id}", "id": github_id}
                status, played = self.call("POST", f"{stand_in}/approve", records.BROWSER, json=payload)
                self._note_queue_pages(played)
            else:
                status, _ = self.call("POST", f"{stand_in}/deny", records.BROWSER, json={"user_code": user_code})
            if status == 429:
                # The app's GitHub budget (or the venue address's) is spent: the page waits for the next
                # window, while the device keeps polling as RFC 8628 asks.
                self.record.queued += 1
                until = time.time() + _seconds_to_next_window(time.time()) + self.rng.uniform(0, 3)
                while time.time() + device.wait() < until:
                    if device.poll() != "pending":
                        return "restart"  # nothing was approved yet: only a code that is gone ends here
                self._sleep(max(0.0, until - time.time()))
                continue
            if status in (200, 400):
                return "done"  # 400: the cancelled page after a refusal
            return "restart"  # the code expired or is unknown

    def _note_queue_pages(self, played: Any) -> None:
        """The wait pages the app showed this browser while its GitHub budget was spent (the stand-in's
        played browser follows their refresh), on the record at the time each came."""
        for at in (played or {}).get("queued_at", []) if isinstance(played, dict) else []:
            _calls.append(Call(float(at), float(at), records.BROWSER_QUEUED, 200, self.role, self.who))
            self.record.queued += 1

    def _redeem(self, device: _Device) -> str:
        while True:
            outcome = device.poll()
            if outcome != "pending":
                return outcome

    def _keep(self, pair: dict[str, Any]) -> None:
        self.access = str(pair["access_token"])
        self.refresh = str(pair["refresh_token"])
        self.expires_at = time.time() + float(pair["expires_in"])

    def fresh_token(self) -> str:
        """The access token, renewed with the refresh token shortly before it expires."""
        if time.time() >= self.expires_at - REFRESH_MARGIN_SECONDS:
            status, pair = self.call(
                "POST", "/api/auth/token", records.TOKEN_REFRESH, json={"refresh_token": self.refresh}
            )
            if status != 200:
                raise StopUser  # written down as a failed refresh; the checks fail the run on it
            self._keep(pair)
        return self.access

    def command(self) -> int:
        """One light command with a color no other command of this run has."""
        color = _next_color()
        body = {"pattern": self.rng.choice(PATTERNS), "color": color}
        status, _ = self.call(
            "POST", "/api/lights", records.COMMAND, quota=True, color=color, token=self.fresh_token(), json=body
        )
        return status

    def _sleep(self, seconds: float) -> None:
        """Wait inside a task as Locust's own `wait` does: the end of the run may stop this user here.

        Without it the run's end waited the whole stop timeout for users asleep inside a task (a
        device between polls, a wall between refreshes); a request in flight still completes.
        """
        if self._state == LOCUST_STATE_STOPPING:
            raise StopUser
        self._state = LOCUST_STATE_WAITING
        time.sleep(seconds)  # gevent-patched: only this user waits
        if self._state == LOCUST_STATE_STOPPING:
            raise StopUser
        self._state = LOCUST_STATE_RUNNING


class Attendee(_SignedIn):
    """Signs in in the keynote wave, then sends commands with think times, looks at their data, maybe erases it."""

    wait_time = between(*SCENARIO.think_seconds)

    def on_start(self) -> None:
        self.rng = random.Random(_random.random())
        self.consents = self.rng.random() >= SCENARIO.decline_fraction
        self.erases = self.rng.random() < SCENARIO.erase_fraction
        super().on_start()
        self.erase_at = time.time() + self.rng.uniform(0.1, 0.5) * SCENARIO.duration_seconds

    @task(12)
    def send_command(self) -> None:
        if self.signed_in:
            self.command()

    @task(1)
    def my_data(self) -> None:
        if self.signed_in:
            self.call("GET", "/api/me", records.ME, quota=True, token=self.fresh_token())

    @task(1)
    def maybe_erase(self) -> None:
        if not self.signed_in or not self.erases or time.time() < self.erase_at:
            return
        token = self.fresh_token()
        self.call("DELETE", "/api/me", records.ERASE, quota=True, token=token)
        self.call("GET", "/api/me", records.AFTER_ERASE, token=token)
        raise StopUser


class Abuser(_SignedIn):
    """A signed-in client that sends over its quota, bad commands, bad tokens and bodies the app refuses."""

    fixed_count = SCENARIO.abusers
    role = records.ABUSER
    wait_time = between(1, 3)

    def on_start(self) -> None:
        super().on_start()
        self.bad_input()  # every abuser tries each kind of bad call at least once, however short the run

    @task(2)
    def over_quota(self) -> None:
        # Twice the quota's pace, a few past it: bounded, so that the hall, not three clients, is the load.
        for _ in range(0 if not self.signed_in else SCENARIO.commands_per_minute + 5):
            self.command()
            self._sleep(WINDOW_SECONDS / (ABUSE_PACE * SCENARIO.commands_per_minute))

    @task(1)
    def bad_input(self) -> None:
        if not self.signed_in:
            return
        token = self.fresh_token()
        bad = {"pattern": "strobe'; --", "color": "zz<b>"}
        self.call("POST", "/api/lights", records.ABUSE_BAD_INPUT, token=token, json=bad)
        forged = "eyJhbGciOiJub25lIn0." + self.rng.randbytes(24).hex() + "."
        self.call(
            "POST",
            "/api/lights",
            records.ABUSE_BAD_TOKEN,
            token=forged,
            json={"pattern": PATTERNS[0], "color": "000000"},
        )
        self.call(
            "POST",
            "/api/lights",
            records.ABUSE_TOO_BIG,
            token=token,
            data=b"{" + b" " * (MAX_BODY_BYTES * 2) + b"}",
            headers={"Content-Type": "application/json"},
        )
        self.call(
            "POST",
            "/api/lights",
            records.ABUSE_NOT_JSON,
            token=token,
            data=b"pattern=pulse",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )


class WallScreen(_Client):
    """A big screen: GET /api/lights at the wall page's poll interval."""

    fixed_count = SCENARIO.walls
    role = records.WALL
    wait_time = constant(SCENARIO.wall_poll_seconds)

    @task
    def poll(self) -> None:
        self.call("GET", "/api/lights", records.WALL_READ)


class JoinPage(_Client):
    """A phone with the wall page (and its assets) and the sign-in form open, reloading now and then."""

    fixed_count = SCENARIO.join_pages
    role = records.JOIN
    wait_time = between(10, 30)

    @task
    def reload(self) -> None:
        self.call("GET", "/api/wall", records.WALL_PAGE)
        for asset in ("wall.js", "wall.css", "wall.svg"):
            self.call("GET", f"/api/wall/{asset}", records.WALL_ASSET)
        self.call("GET", "/api/auth/verify", records.JOIN_FORM)
