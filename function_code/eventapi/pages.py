"""The few HTML pages of the sign-in: plain documents, no script, every value escaped.

They are the attendee's browser step (RFC 8628 section 3.3): what is being authorised is said
plainly, because a device code can be phished (section 5.4): someone else's code sent to you
would sign *their* device in as *you*.
"""

from __future__ import annotations

from html import escape

from fastapi.responses import HTMLResponse

# Where the confirmation form posts (the route that starts GitHub's flow).
CONFIRM_PATH = "/api/auth/github"

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">{head}
<title>{title}</title></head>
<body><main>
<h1>{title}</h1>
{body}
<p><a href="/api/privacy">What is stored about you, and for how long</a></p>
</main></body></html>
"""


def page(title: str, body_html: str, status: int = 200, head_html: str = "") -> HTMLResponse:
    """A page whose title is escaped here and whose body (and extra head) the caller built from escaped parts."""
    return HTMLResponse(_PAGE.format(title=escape(title), body=body_html, head=head_html), status_code=status)


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


def confirm(user_code: str, csrf: str, github_origin: str) -> HTMLResponse:
    """Say what is being authorised before anything happens, and let the attendee stop.

    Only this form, posted with its CSRF token by the browser holding the cookie, starts GitHub's
    flow. Its policy lets the form go to this app and on to GitHub (form-action also governs the
    redirect that follows the post), nowhere else.
    """
    response = page(
        "Check the code",
        f"""<p>You are about to sign <strong>a device</strong> in to this event's light wall API
as your GitHub account.</p>
<h2><code>{escape(user_code)}</code></h2>
<p>Continue <strong>only</strong> if this exact code is on the screen of a device you are using right now,
and you started this sign-in yourself in the last 10 minutes. If someone sent you this code or link,
stop here: continuing would let their device act as you.</p>
<p>GitHub will tell this app your public user id and login, nothing else; no repository or e-mail access
is requested.</p>
<form method="post" action="{escape(CONFIRM_PATH)}">
<input type="hidden" name="user_code" value="{escape(user_code)}">
<input type="hidden" name="csrf" value="{escape(csrf)}">
<button type="submit">Continue with GitHub</button>
</form>""",
    )
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; form-action 'self' {github_origin}; base-uri 'none'; frame-ancestors 'none'"
    )
    return response


def queued(retry_after: int, again_url: str) -> HTMLResponse:
    """The app-wide GitHub budget is spent this minute: wait, then the browser retries by itself.

    A meta refresh needs no script; the link is there for a browser that does not refresh.
    """
    seconds = max(1, retry_after)
    url = escape(again_url)
    response = page(
        "Almost there",
        f"""<p>Many people are signing in right now. Your sign-in is kept: this page continues by itself
in about {seconds} seconds. Keep it open; your device keeps waiting too.</p>
<p><a href="{url}">Continue now</a></p>""",
        head_html=f'\n<meta http-equiv="refresh" content="{seconds};url={url}">',
    )
    response.headers["Retry-After"] = str(seconds)
    return response


def onward(url: str) -> HTMLResponse:
    """A 303 to `url`, with a link for a browser that does not follow it."""
    response = page("On to GitHub", f'<p><a href="{escape(url)}">Continue to GitHub</a></p>', 303)
    response.headers["Location"] = url
    return response


def outcome(title: str, message: str, status: int) -> HTMLResponse:
    """The end of the browser step, good or bad."""
    return page(title, f"<p>{escape(message)}</p>", status)
