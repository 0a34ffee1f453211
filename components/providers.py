"""The Azure resource providers the stack needs, checked before anything is created.

pulumi-azure-native has no resource that registers a provider namespace for a subscription, and
does not register them on demand (pulumi-azure-native issue 3479): in a fresh subscription the
first `pulumi up` would fail halfway, at the first resource of an unregistered namespace. So a
real run reads the subscription's registrations first and stops, before any resource is
registered, with the one command that fixes it. A mocked run has no subscription and skips this.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from urllib.request import Request, urlopen

from components.config import RunKind

# Every namespace a resource of this stack lives in. Microsoft.App: the Flex integration
# subnet's delegation (Microsoft.App/environments); Microsoft.Consumption: the budget.
REQUIRED_PROVIDERS: tuple[str, ...] = (
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
)
REGISTERED = "Registered"
ARM_ENDPOINT = "https://management.azure.com"
ARM_SCOPE = "https://management.azure.com/.default"
PROVIDERS_API_VERSION = "2021-04-01"
REQUEST_TIMEOUT_SECONDS = 30

# subscription id -> {namespace: registrationState}
RegistrationReader = Callable[[str], Mapping[str, str]]


class ProvidersNotRegisteredError(RuntimeError):
    """Some namespaces are not registered; the message carries the one command to run."""


def unregistered(states: Mapping[str, str], required: Sequence[str] = REQUIRED_PROVIDERS) -> list[str]:
    """The required namespaces not in state `Registered` (namespaces compare case-insensitively)."""
    by_name = {name.lower(): state for name, state in states.items()}
    return [name for name in required if by_name.get(name.lower()) != REGISTERED]


def register_command(namespaces: Sequence[str]) -> str:
    """One shell line that registers every namespace in `namespaces` and waits for each."""
    return f"for ns in {' '.join(namespaces)}; do az provider register --namespace $ns --wait; done"


def read_registrations(subscription_id: str) -> dict[str, str]:
    """The subscription's provider registrations from ARM, as the deploying identity sees them."""
    from azure.identity import DefaultAzureCredential

    token = DefaultAzureCredential().get_token(ARM_SCOPE).token
    url: str | None = f"{ARM_ENDPOINT}/subscriptions/{subscription_id}/providers?api-version={PROVIDERS_API_VERSION}"
    states: dict[str, str] = {}
    while url:
        if not url.startswith(ARM_ENDPOINT + "/"):
            raise OSError(f"unexpected next page outside Azure Resource Manager: {url}")
        request = Request(url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310 - https to ARM only
        with urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS) as response:  # noqa: S310 - https to ARM only
            body = json.load(response)
        states |= {item["namespace"]: item.get("registrationState", "") for item in body.get("value", [])}
        url = body.get("nextLink")
    return states


def _subscription_id() -> str:
    from pulumi_azure_native import authorization

    return str(authorization.get_client_config().subscription_id)


def require_registered_providers(
    kind: RunKind,
    read: RegistrationReader | None = None,
    subscription_id: Callable[[], str] | None = None,
) -> None:
    """Stop a real run whose subscription lacks a namespace; a mocked run has nothing to check.

    `read` and `subscription_id` default to ARM and the provider's client config, looked up at
    call time.
    """
    if kind is RunKind.MOCKED:
        return
    subscription = (subscription_id or _subscription_id)()
    try:
        states = (read or read_registrations)(subscription)
    except OSError as error:
        # Without the list nothing is known: say so, and how to make sure by hand.
        raise ProvidersNotRegisteredError(
            f"could not read the resource providers of subscription {subscription} ({error}). "
            f"Check with `az provider list`, or register them all:\n    {register_command(REQUIRED_PROVIDERS)}"
        ) from error
    missing = unregistered(states)
    if missing:
        raise ProvidersNotRegisteredError(
            f"subscription {subscription} has not registered {', '.join(missing)}; "
            f"`pulumi up` would fail at the first resource there. Run once:\n    {register_command(missing)}"
        )
