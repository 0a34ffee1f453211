"""No connection string, account key or SAS anywhere: every input of every resource, every output.

Everything authenticates with Entra ID through managed identities, and the storage account
refuses shared keys, so a credential string in the program would be dead weight at best and a
leak at worst. The search is recursive and reads secret inputs too (the recording monitor unwraps
them), so a secret-wrapped connection string is found as well.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dev.offline import ROOT, ProgramRun, run_program

# Values that carry a credential.
CREDENTIAL_VALUES: Mapping[str, re.Pattern[str]] = {
    "storage connection string": re.compile(r"DefaultEndpointsProtocol=|(^|;)\s*AccountKey=", re.IGNORECASE),
    "shared access key": re.compile(r"(^|;)\s*SharedAccessKey(Name)?=", re.IGNORECASE),
    "shared access signature": re.compile(
        r"SharedAccessSignature=|[?&]sig=[^&\s]+|(^|[?&])sv=\d{4}-\d{2}-\d{2}&", re.IGNORECASE
    ),
    "password in a connection string": re.compile(r"(^|;)\s*(Password|Pwd)=", re.IGNORECASE),
    # Storage account keys are 64 random bytes in base64: 86 characters and `==`.
    "storage account key": re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=])"),
}

# Property or app setting names that only ever hold a credential. Compared with `_`, `-` and
# case ignored. The Application Insights connection string is not among them: with local
# authentication off, its instrumentation key names the component and grants nothing; ingestion
# needs an Entra ID token of an identity holding Monitoring Metrics Publisher.
CREDENTIAL_NAMES: frozenset[str] = frozenset(
    {
        "azurewebjobsstorage",
        "connectionstrings",
        "storageaccountconnectionstringname",
        "eventstackstorageconnectionstring",
        "accountkey",
        "storageaccountkey",
        "accesskey",
        "primarykey",
        "secondarykey",
        "sastoken",
        "sasurl",
        "sharedaccesskey",
        "sharedaccesssignature",
        "websitecontentazurefileconnectionstring",
    }
)


@dataclass(frozen=True)
class Finding:
    """One credential-looking thing, where it was, and why it matched."""

    where: str
    path: str
    why: str


def _normalized(name: str) -> str:
    return re.sub(r"[_\-\s]", "", name).lower()


def _is_empty(value: Any) -> bool:
    return value is None or value in ("", [], {})


def find_credentials(value: Any, where: str, path: str = "") -> Iterator[Finding]:
    """Walk `value` (dicts, lists, strings) and yield every credential it holds."""
    if isinstance(value, Mapping):
        # App settings and similar pairs: the name sits in a sibling field.
        pair_name = value.get("name")
        named = isinstance(pair_name, str) and _normalized(pair_name) in CREDENTIAL_NAMES
        if named and "value" in value and not _is_empty(value["value"]):
            yield Finding(where, f"{path}.value" if path else "value", f"setting named {pair_name}")
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if _normalized(str(key)) in CREDENTIAL_NAMES and not _is_empty(item):
                yield Finding(where, child, f"property named {key}")
            yield from find_credentials(item, where, child)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from find_credentials(item, where, f"{path}.{index}")
    elif isinstance(value, str):
        for why, pattern in CREDENTIAL_VALUES.items():
            if pattern.search(value):
                yield Finding(where, path, why)


def credentials_in(run: ProgramRun) -> list[Finding]:
    """Every credential in any input of any resource, or in any stack output."""
    found = [f for r in run.resources for f in find_credentials(r.inputs, r.urn)]
    found += find_credentials(run.outputs, "stack outputs")
    return found


def test_no_resource_input_and_no_stack_output_holds_a_credential(dev_stack: ProgramRun) -> None:
    assert len(dev_stack.resources) > 20, "the search would have nothing to look at"
    assert credentials_in(dev_stack) == []


def test_the_storage_account_cannot_issue_key_based_credentials(dev_stack: ProgramRun) -> None:
    account = dev_stack.one("azure-native:storage:StorageAccount")
    assert account.inputs["allowSharedKeyAccess"] is False


# --- the search catches what it is meant to catch --------------------------------------------------

ACCOUNT_KEY = "Qk" * 43 + "=="  # 86 base64 characters and padding, like a real key
CONNECTION_STRING = (
    f"DefaultEndpointsProtocol=https;AccountName=stleak;AccountKey={ACCOUNT_KEY};EndpointSuffix=core.windows.net"
)
SAS_URL = "https://stleak.blob.core.windows.net/attendee-data?sv=2022-11-02&ss=b&srt=co&sp=rl&se=2027-01-01&sig=abc%3D"


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ({"siteConfig": {"appSettings": [{"name": "AzureWebJobsStorage", "value": "x"}]}}, "AzureWebJobsStorage"),
        ({"appSettings": [{"name": "EVENTSTACK_STORAGE_CONNECTION_STRING", "value": "x"}]}, "setting named"),
        ({"siteConfig": {"connectionStrings": [{"name": "db", "connectionString": "x"}]}}, "connectionStrings"),
        ({"properties": {"value": CONNECTION_STRING}}, "storage connection string"),
        ({"deep": [[{"url": SAS_URL}]]}, "shared access signature"),
        ({"endpoint": "Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=r;SharedAccessKey=k"}, "shared"),
        ({"key": ACCOUNT_KEY}, "storage account key"),
        ({"db": "Server=x;User Id=u;Password=p"}, "password"),
    ],
)
def test_the_search_finds_a_credential_wherever_it_hides(value: Any, why: str) -> None:
    findings = list(find_credentials(value, "planted"))
    assert any(why in f.why for f in findings), findings


@pytest.mark.parametrize(
    "value",
    [
        {"name": "AzureWebJobsStorage__accountName", "value": "stconfdemo"},
        {"name": "AzureWebJobsStorage__credential", "value": "managedidentity"},
        {"name": "APPLICATIONINSIGHTS_AUTHENTICATION_STRING", "value": "ClientId=abc;Authorization=AAD"},
        {"url": "https://stconfdemo.blob.core.windows.net/app-package"},
        {"value": "bvh2OKCSRhqBwNcfbvh2OKCSRhqBwNcfbvh2OKCSRhqBwNcfbvh2OKCSRhqBwNcf"},
        {"siteConfig": {"connectionStrings": []}},
    ],
)
def test_identity_based_settings_are_not_mistaken_for_credentials(value: Any) -> None:
    assert list(find_credentials(value, "clean")) == []


PLANTED_PROGRAM = """
import runpy

import pulumi
from pulumi_azure_native import keyvault

namespace = runpy.run_path({main!r}, run_name="__main__")
stack = namespace["stack"]
keyvault.Secret(
    "planted-connection-string",
    secret_name="leak",
    vault_name=stack.key_vault_name,
    resource_group_name=stack.resource_group_name,
    properties={{"value": pulumi.Output.secret({connection_string!r})}},
)
pulumi.export("plantedUrl", {sas_url!r})
"""


def test_the_search_catches_credentials_planted_in_the_program(tmp_path: Path) -> None:
    main = tmp_path / "planted_main.py"
    main.write_text(
        textwrap.dedent(
            PLANTED_PROGRAM.format(main=str(ROOT / "__main__.py"), connection_string=CONNECTION_STRING, sas_url=SAS_URL)
        )
    )
    run = run_program("dev", main=main)
    planted_secret = next(r for r in run.resources if r.name == "planted-connection-string")
    assert planted_secret.secret_inputs, "the planted value should reach the engine as a secret"

    findings = credentials_in(run)
    assert {(f.where.rsplit("::", 1)[-1], f.path) for f in findings} >= {
        ("planted-connection-string", "properties.value"),
        ("stack outputs", "plantedUrl"),
    }
    assert any(f.why == "storage connection string" for f in findings)
    assert any(f.why == "shared access signature" for f in findings)
    # Nothing outside what was planted.
    assert all("planted" in f.where or f.path == "plantedUrl" for f in findings), findings
