"""Resource providers: a real run stops, before creating anything, with the one command to run."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pytest

from components import config as config_module
from components import providers
from components.config import RunKind
from components.providers import (
    REQUIRED_PROVIDERS,
    ProvidersNotRegisteredError,
    register_command,
    require_registered_providers,
    unregistered,
)
from dev.offline import SUBSCRIPTION_ID, ProgramRun, RecordingMonitor, StackMocks, run_program

ALL_REGISTERED = {name: "Registered" for name in REQUIRED_PROVIDERS}
REAL_CONFIG = {
    "githubClientId": "Ov23liA1b2C3d4E5f6G7",
    "owner": "events@contoso.eu",
    "githubClientSecret": "0123456789abcdef0123456789abcdef01234567",
    "allowedGitHubLogins": '["octocat"]',
    "controllerName": "Contoso Conferences GmbH",
    "controllerContact": "privacy@contoso.eu",
}


def test_the_issue_list_of_namespaces_is_required() -> None:
    assert set(REQUIRED_PROVIDERS) == {
        "Microsoft.App",
        "Microsoft.Web",
        "Microsoft.Cdn",
        "Microsoft.KeyVault",
        "Microsoft.Storage",
        "Microsoft.Network",
        "Microsoft.Insights",
        "Microsoft.OperationalInsights",
        "Microsoft.ManagedIdentity",
        "Microsoft.Consumption",
    }


def test_every_namespace_the_dev_stack_uses_is_required(dev_stack: ProgramRun) -> None:
    modules = {r.type.split(":")[1] for r in dev_stack.custom_resources() if r.type.startswith("azure-native:")}
    # The namespace each SDK module's resources live in (resources/authorization: always registered).
    namespaces = {
        "network": "Microsoft.Network",
        "privatedns": "Microsoft.Network",
        "storage": "Microsoft.Storage",
        "keyvault": "Microsoft.KeyVault",
        "web": "Microsoft.Web",
        "managedidentity": "Microsoft.ManagedIdentity",
        "operationalinsights": "Microsoft.OperationalInsights",
        "applicationinsights": "Microsoft.Insights",
        "monitor": "Microsoft.Insights",
        "consumption": "Microsoft.Consumption",
        # Front Door Standard/Premium and its WAF policy are both Microsoft.Cdn resources.
        "cdn": "Microsoft.Cdn",
        "frontdoor": "Microsoft.Cdn",
    }
    always_registered = {"resources", "authorization"}
    assert modules - always_registered <= set(namespaces), "a module without a known namespace"
    assert {namespaces[m] for m in modules - always_registered} <= set(REQUIRED_PROVIDERS)


def test_unregistered_lists_what_is_not_registered_in_order() -> None:
    states = {**ALL_REGISTERED, "Microsoft.App": "NotRegistered", "microsoft.cdn": "Registering"}
    states.pop("Microsoft.Consumption")
    states.pop("Microsoft.Cdn")
    assert unregistered(states) == ["Microsoft.App", "Microsoft.Cdn", "Microsoft.Consumption"]
    assert unregistered({k.upper(): v for k, v in ALL_REGISTERED.items()}) == []


def test_the_command_registers_each_missing_namespace() -> None:
    assert register_command(["Microsoft.App", "Microsoft.Cdn"]) == (
        "for ns in Microsoft.App Microsoft.Cdn; do az provider register --namespace $ns --wait; done"
    )


def _reader(states: Mapping[str, str], calls: list[str]) -> providers.RegistrationReader:
    def read(subscription: str) -> Mapping[str, str]:
        calls.append(subscription)
        return states

    return read


def test_a_mocked_run_asks_azure_nothing() -> None:
    calls: list[str] = []
    require_registered_providers(RunKind.MOCKED, _reader({}, calls), lambda: "sub")
    assert calls == []


@pytest.mark.parametrize("kind", [RunKind.PREVIEW, RunKind.DEPLOY])
def test_a_real_run_passes_when_everything_is_registered(kind: RunKind) -> None:
    calls: list[str] = []
    require_registered_providers(kind, _reader(ALL_REGISTERED, calls), lambda: "sub-1")
    assert calls == ["sub-1"]


def test_a_real_run_stops_with_the_one_command_to_run() -> None:
    states = {k: v for k, v in ALL_REGISTERED.items() if k not in ("Microsoft.App", "Microsoft.Consumption")}
    with pytest.raises(ProvidersNotRegisteredError) as raised:
        require_registered_providers(RunKind.DEPLOY, _reader(states, []), lambda: "sub-1")
    message = str(raised.value)
    assert "sub-1" in message
    assert register_command(["Microsoft.App", "Microsoft.Consumption"]) in message


def test_an_unreadable_list_stops_the_run_with_the_command_for_all() -> None:
    def read(subscription: str) -> Mapping[str, str]:
        raise OSError("HTTP Error 403: Forbidden")

    with pytest.raises(ProvidersNotRegisteredError, match="403") as raised:
        require_registered_providers(RunKind.PREVIEW, read, lambda: "sub-1")
    assert register_command(REQUIRED_PROVIDERS) in str(raised.value)


def test_the_program_stops_before_registering_anything(monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole program as a real `pulumi up` in a fresh subscription would run it."""
    calls: list[str] = []
    monkeypatch.setattr(config_module, "current_run_kind", lambda: RunKind.DEPLOY)
    monkeypatch.setattr(providers, "read_registrations", _reader({"Microsoft.Web": "Registered"}, calls))
    monitor = RecordingMonitor(StackMocks())
    with pytest.raises(pulumi.RunError, match="az provider register"):
        run_program("dev", REAL_CONFIG, monitor=monitor)
    assert calls == [SUBSCRIPTION_ID]
    assert monitor.registered == []


def test_the_program_goes_on_when_everything_is_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config_module, "current_run_kind", lambda: RunKind.DEPLOY)
    monkeypatch.setattr(providers, "read_registrations", _reader(ALL_REGISTERED, []))
    run = run_program("dev", REAL_CONFIG)
    assert run.one("azure-native:monitor:ActionGroup").get("emailReceivers.0.emailAddress") == "events@contoso.eu"


class _FakeCredential:
    def get_token(self, *scopes: str) -> object:
        assert scopes == (providers.ARM_SCOPE,)
        return type("Token", (), {"token": "t0ken"})()


def test_reading_follows_arm_pages_with_a_bearer_token(monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import json

    import azure.identity

    first = f"{providers.ARM_ENDPOINT}/subscriptions/sub-1/providers?api-version={providers.PROVIDERS_API_VERSION}"
    second = f"{providers.ARM_ENDPOINT}/next"
    pages: dict[str, dict[str, object]] = {
        first: {"value": [{"namespace": "Microsoft.Web", "registrationState": "Registered"}], "nextLink": second},
        second: {"value": [{"namespace": "Microsoft.App", "registrationState": "NotRegistered"}]},
    }
    seen: list[tuple[str, str | None]] = []

    def fake_urlopen(request: object, timeout: float) -> io.BytesIO:
        url = request.full_url  # type: ignore[attr-defined]
        seen.append((url, request.get_header("Authorization")))  # type: ignore[attr-defined]
        return io.BytesIO(json.dumps(pages[url]).encode())

    monkeypatch.setattr(azure.identity, "DefaultAzureCredential", _FakeCredential)
    monkeypatch.setattr(providers, "urlopen", fake_urlopen)
    assert providers.read_registrations("sub-1") == {"Microsoft.Web": "Registered", "Microsoft.App": "NotRegistered"}
    assert seen == [(first, "Bearer t0ken"), (second, "Bearer t0ken")]


def test_reading_never_follows_a_page_outside_arm(monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import json

    import azure.identity

    def fake_urlopen(request: object, timeout: float) -> io.BytesIO:
        return io.BytesIO(json.dumps({"value": [], "nextLink": "https://attacker.example/steal"}).encode())

    monkeypatch.setattr(azure.identity, "DefaultAzureCredential", _FakeCredential)
    monkeypatch.setattr(providers, "urlopen", fake_urlopen)
    with pytest.raises(OSError, match="outside Azure Resource Manager"):
        providers.read_registrations("sub-1")
