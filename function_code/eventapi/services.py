"""Builds the app's collaborators from the settings: Azure identity in Azure, Azurite and files locally."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from eventapi.auth.github import GitHubDeviceFlow
from eventapi.auth.signer import KeyVaultSigner, LocalSigner, Signer
from eventapi.auth.tokens import TokenService
from eventapi.pepper import KeyedHash, key_vault_pepper, local_pepper
from eventapi.quotas import Quotas
from eventapi.settings import AzureResources, Settings
from eventapi.store import TableStore

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The real clock; tests inject their own."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Services:
    """Everything a request handler may use."""

    settings: Settings
    store: TableStore
    signer: Signer
    tokens: TokenService
    keyed_hash: KeyedHash
    github: GitHubDeviceFlow
    quotas: Quotas
    clock: Clock


def build_store(settings: Settings) -> TableStore:
    """Tables through the app's identity in Azure, or Azurite's connection string locally."""
    resources = settings.resources
    if isinstance(resources, AzureResources):
        from azure.identity import DefaultAzureCredential

        return TableStore.for_azure(resources.table_endpoint, DefaultAzureCredential())
    return TableStore.for_azurite(resources.storage_connection_string)


def build_services(settings: Settings, clock: Clock = utc_now, store: TableStore | None = None) -> Services:
    """Wire the collaborators; nothing here calls Key Vault (keys and pepper are read on first use)."""
    resources = settings.resources
    signer: Signer
    if isinstance(resources, AzureResources):
        from azure.identity import DefaultAzureCredential

        # AZURE_CLIENT_ID selects the app's user-assigned identity.
        credential = DefaultAzureCredential()
        signer = KeyVaultSigner(resources.key_vault_uri, resources.signing_key_name, credential)
        keyed_hash = KeyedHash(key_vault_pepper(resources.key_vault_uri, resources.pepper_secret_name, credential))
    else:
        signer = LocalSigner(resources.state_dir)
        keyed_hash = KeyedHash(local_pepper(resources.state_dir))
    store = store or build_store(settings)
    return Services(
        settings=settings,
        store=store,
        signer=signer,
        tokens=TokenService(signer, settings.token_issuer, settings.token_audience, settings.token_ttl, clock),
        keyed_hash=keyed_hash,
        github=GitHubDeviceFlow(settings.github_client_id, settings.github_base_url, settings.github_api_url),
        quotas=Quotas(store, clock),
        clock=clock,
    )
