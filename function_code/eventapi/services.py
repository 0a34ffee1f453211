"""Builds the app's collaborators from the settings: Azure identity in Azure, Azurite and files locally."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING

from eventapi.auth.admission import Admission
from eventapi.auth.github import GitHubWebFlow
from eventapi.auth.signer import KeyVaultSigner, LocalSigner, Signer
from eventapi.auth.tokens import TokenService
from eventapi.credential import LazyCredential
from eventapi.direct_transport import DIRECT_TRANSPORT
from eventapi.pepper import KeyedHash, key_vault_pepper, key_vault_secret, local_pepper
from eventapi.quotas import Quotas, github_sign_ins_subject
from eventapi.settings import AzureResources, Settings
from eventapi.storage.counters import HOT_SHARDS, CounterStore
from eventapi.storage.lights import LightStore
from eventapi.storage.sessions import SessionStore
from eventapi.storage.tables import Tables

if TYPE_CHECKING:
    from eventapi.auth.sign_in import SignIn

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The real clock; tests inject their own."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Services:
    """Everything a request handler may use."""

    settings: Settings
    tables: Tables
    sessions: SessionStore
    lights: LightStore
    signer: Signer
    tokens: TokenService
    keyed_hash: KeyedHash
    admission: Admission
    github: GitHubWebFlow
    quotas: Quotas
    clock: Clock

    @cached_property
    def sign_in(self) -> SignIn:
        """The device flow and its browser step: built, with the code it needs, at the first sign-in
        request (the sign-in routes load then too), not when a cold instance starts. Two requests
        racing to build it are harmless: it keeps no state of its own, only these collaborators."""
        from eventapi.auth.sign_in import SignIn
        from eventapi.storage.device_codes import DeviceCodeStore

        settings, quotas = self.settings, self.quotas

        def exchange_budget() -> None:
            # GitHub allows an OAuth app 2,000 token requests an hour: only the exchange itself counts.
            quotas.take(
                github_sign_ins_subject(settings.github_client_id), settings.sign_ins_per_minute, shards=HOT_SHARDS
            )

        return SignIn(
            settings=settings,
            devices=DeviceCodeStore(self.tables),
            sessions=self.sessions,
            tokens=self.tokens,
            keyed_hash=self.keyed_hash,
            github=self.github,
            admission=self.admission,
            clock=self.clock,
            exchange_budget=exchange_budget,
        )


def build_tables(settings: Settings) -> Tables:
    """Tables through the app's identity in Azure, or Azurite's connection string locally."""
    resources = settings.resources
    if isinstance(resources, AzureResources):
        return Tables.for_azure(resources.table_endpoint, LazyCredential())
    return Tables.for_azurite(resources.storage_connection_string)


def build_services(settings: Settings, clock: Clock = utc_now, tables: Tables | None = None) -> Services:
    """Wire the collaborators; nothing here calls Key Vault (keys and secrets are read on first use)."""
    resources = settings.resources
    signer: Signer
    client_secret: Callable[[], str]
    if isinstance(resources, AzureResources):
        # AZURE_CLIENT_ID selects the app's user-assigned identity.
        credential = LazyCredential()
        vault = resources.key_vault_uri
        signer = KeyVaultSigner(vault, resources.signing_key_name, credential, **DIRECT_TRANSPORT)
        keyed_hash = KeyedHash(key_vault_pepper(vault, resources.pepper_secret_name, credential, **DIRECT_TRANSPORT))
        client_secret = key_vault_secret(vault, resources.github_client_secret_name, credential, **DIRECT_TRANSPORT)
    else:
        signer = LocalSigner(resources.state_dir)
        keyed_hash = KeyedHash(local_pepper(resources.state_dir))
        local_secret = resources.github_client_secret

        def client_secret() -> str:
            return local_secret

    tables = tables or build_tables(settings)
    sessions = SessionStore(tables)
    tokens = TokenService(signer, settings.token_issuer, settings.token_audience, settings.token_ttl, clock)
    admission = Admission(settings.sign_in_mode, settings.allowed_login_digests, keyed_hash)
    github = GitHubWebFlow(settings.github_client_id, client_secret, settings.github_base_url, settings.github_api_url)
    return Services(
        settings=settings,
        tables=tables,
        sessions=sessions,
        lights=LightStore(tables),
        signer=signer,
        tokens=tokens,
        keyed_hash=keyed_hash,
        admission=admission,
        github=github,
        quotas=Quotas(CounterStore(tables), sessions, clock),
        clock=clock,
    )
