"""The attendee examples sign in, send a light, refresh and send another, against the local API.

Each script runs as an attendee would run it (`node examples/device_flow.mjs <origin>`, `python
examples/device_flow.py <origin>`); the test reads the user code from its output and lets the
GitHub stand-in approve it, as the attendee's browser would. Both use only their runtime's standard
library: nothing is installed for them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from dev.github_standin import GitHubStandIn
from tests.function_code.conftest import RunningApi, User, approve

pytestmark = pytest.mark.azurite

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
USER_CODE_LINE = re.compile(r"confirm the code ([A-Z]{4}-[A-Z]{4})$")
# The scripts poll every `interval` (5 s): two polls and four requests fit well inside this.
RUN_TIMEOUT_SECONDS = 90


def _command(name: str) -> list[str]:
    if name.endswith(".mjs"):
        node = shutil.which("node")
        assert node, "Node.js is required for the JavaScript example (the wall's attendees have it)"
        return [node, str(EXAMPLES / name)]
    return [sys.executable, "-I", str(EXAMPLES / name)]


@pytest.mark.parametrize("name", ["device_flow.mjs", "device_flow.py"])
def test_the_example_signs_in_sends_refreshes_and_sends_again(
    api: RunningApi, github: GitHubStandIn, new_user: Callable[[], User], name: str
) -> None:
    user = new_user()
    color = f"{user.id % 0xFFFFFF:06x}"
    process = subprocess.Popen(
        [*_command(name), api.url, color], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            found = USER_CODE_LINE.search(line.strip())
            if found:
                approve(github, found.group(1), user)
                break
        rest, _ = process.communicate(timeout=RUN_TIMEOUT_SECONDS)
        output.append(rest)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    text = "".join(output)
    assert process.returncode == 0, text
    assert text.count("light accepted") == 2, text
    assert "refreshed" in text, text
    wall = httpx.get(f"{api.url}/api/lights").json()["lights"]
    sent = [(entry["pattern"], entry["color"]) for entry in wall if entry["color"] == color]
    assert ("pulse", color) in sent and ("sparkle", color) in sent
