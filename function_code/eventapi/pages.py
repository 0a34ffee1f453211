"""The few HTML pages of the sign-in: plain documents, no script, every value escaped.

They are the attendee's browser step (RFC 8628 section 3.3): what is being authorised is said
plainly, because a device code can be phished (section 5.4): someone else's code sent to you
would sign *their* device in as *you*.
"""

from __future__ import annotations

from html import escape

from fastapi.responses import HTMLResponse

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{title}</title></head>
<body><main>
<h1>{title}</h1>
{body}
<p><a href="/api/privacy">What is stored about you, and for how long</a></p>
</main></body></html>
"""


def page(title: str, body_html: str, status: int = 200) -> HTMLResponse:
    """A page whose title is escaped here and whose body the caller built from escaped parts."""
    return HTMLResponse(_PAGE.format(title=escape(title), body=body_html), status_code=status)


def enter_code(message: str = "", status: int = 200) -> HTMLResponse:
    """The form asking for the code shown on the attendee's device."""
    notice = f"<p><strong>{escape(message)}</strong></p>" if message else ""
    return page(
        "Sign in to the light wall",
        notice
        + """<p>Enter the code shown on <em>your own</em> device (your terminal or script).</p>
<form method="get" action="/api/auth/verify">
<label>Code <input name="user_code" autocomplete="off" autocapitalize="characters" maxlength="12" required></label>
<button type="submit">Next</button>
</form>""",
        status,
    )


def confirm(user_code: str, continue_url: str) -> HTMLResponse:
    """Say what is being authorised before anything happens, and let the attendee stop."""
    return page(
        "Check the code",
        f"""<p>You are about to sign <strong>a device</strong> in to this event's light wall API
as your GitHub account.</p>
<h2><code>{escape(user_code)}</code></h2>
<p>Continue <strong>only</strong> if this exact code is on the screen of a device you are using right now,
and you started this sign-in yourself in the last 10 minutes. If someone sent you this code or link,
stop here: continuing would let their device act as you.</p>
<p>GitHub will tell this app your public user id and login, nothing else; no repository or e-mail access
is requested.</p>
<p><a href="{escape(continue_url)}">Continue with GitHub</a></p>""",
    )


def onward(url: str) -> HTMLResponse:
    """A 303 to `url`, with a link for a browser that does not follow it."""
    response = page("On to GitHub", f'<p><a href="{escape(url)}">Continue to GitHub</a></p>', 303)
    response.headers["Location"] = url
    return response


def outcome(title: str, message: str, status: int) -> HTMLResponse:
    """The end of the browser step, good or bad."""
    return page(title, f"<p>{escape(message)}</p>", status)
