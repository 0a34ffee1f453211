"""What an attendee may read of their own data, and the privacy notice."""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, Field

from eventapi.models import EXAMPLE_TIME, StrictModel


class MySession(StrictModel):
    """The caller's session: one per attendee, shared by every device they signed in on."""

    created_at: datetime
    expires_at: datetime


class MySignIn(StrictModel):
    """One device's sign-in (a refresh-token chain): when it started, when it last renewed."""

    created_at: datetime
    last_renewed: datetime | None


class MyData(StrictModel):
    """Everything stored about the caller (GDPR access)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "attendee": {"key": "3f1c9a" + "0" * 58, "last_sign_in": EXAMPLE_TIME},
                    "session": {"created_at": EXAMPLE_TIME, "expires_at": "2026-12-03T18:00:00Z"},
                    "sign_ins": [{"created_at": EXAMPLE_TIME, "last_renewed": None}],
                    "commands_sent": 3,
                }
            ]
        }
    )

    attendee: dict[str, str] = Field(description="the keyed hash standing in for the GitHub id, last sign-in time")
    session: MySession
    sign_ins: list[MySignIn]
    commands_sent: int = Field(
        description="how many commands you sent; the commands themselves are stored without any link to you"
    )


class Controller(StrictModel):
    """Who is responsible for attendees' data, and how to reach them (GDPR Art. 13(1)(a))."""

    name: str
    contact: str


class Privacy(StrictModel):
    """What is stored, why, on what legal basis, who receives it, where and for how long (GDPR Art. 13)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "controller": {"name": "Conference Organisers e.V.", "contact": "privacy@conference.eu"},
                    "stored": {"lights": "each command you send: pattern, color, time"},
                    "purposes": ["letting you send commands to the light wall"],
                    "legal_basis": "GDPR Art. 6(1)(b): you asked to take part",
                    "recipients": {"Microsoft (Azure)": "processor: hosts the API and its storage"},
                    "location": "Azure Table storage in an EU region",
                    "retention_hours": 48,
                    "delete_all_by": "2026-12-31T00:00:00Z",
                    "your_rights": {"access": "GET /api/me returns everything stored about you"},
                }
            ]
        }
    )

    controller: Controller
    stored: dict[str, str]
    purposes: list[str]
    legal_basis: str
    recipients: dict[str, str]
    location: str
    retention_hours: int
    delete_all_by: datetime
    who_may_sign_in: str
    your_rights: dict[str, str]
