"""The stack's Key Vault: RBAC only, private only, the JWT signing key, the storage key, the pepper.

The signing key's private half never leaves the vault: the app asks the vault to sign, and
verifies tokens locally with the public key. Keys are created through ARM but deleted through the
vault's data plane, which is unreachable once public access is off, so they are retained on
delete: deleting the vault (with the resource group) takes them along.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_random as random
from pulumi_azure_native import authorization, keyvault

from components.identity import grant
from components.lifecycle import KeyExpiries, rotated_version_expiry_days
from components.monitoring import Monitoring
from components.network import Network
from components.pseudonyms import login_digests

# Names inside the vault; the vault itself carries the per-stack suffix.
SIGNING_KEY_NAME = "jwt-signing"
STORAGE_KEY_NAME = "storage-encryption"
PEPPER_SECRET_NAME = "github-id-pepper"  # noqa: S105 - the secret's name, not its value
GITHUB_SECRET_NAME = "github-client-secret"  # noqa: S105 - the secret's name, not its value

SOFT_DELETE_RETENTION_DAYS = 7  # the shortest Azure allows: a deleted vault keeps no data longer
SIGNING_KEY_CURVE = "P-256"  # ES256 (RFC 7518 3.4)
SIGNING_KEY_OPS: tuple[str, ...] = ("sign", "verify")
STORAGE_KEY_SIZE = 3072  # RSA below 3072 bits falls short of 128-bit security (NIST SP 800-57)
STORAGE_KEY_OPS: tuple[str, ...] = ("wrapKey", "unwrapKey")
# 64 letters and digits: about 380 bits, far beyond what a guess at an HMAC key could reach.
PEPPER_LENGTH = 64
PRIVATE_LINK_GROUP = "vault"


def key_type(family: Literal["EC", "RSA"], sku: Literal["standard", "premium"]) -> str:
    """`EC`/`RSA`, or the HSM-backed `EC-HSM`/`RSA-HSM` when the premium SKU pays for it."""
    return f"{family}-HSM" if sku == "premium" else family


def signing_key_rotation(rotation_days: int) -> keyvault.RotationPolicyArgs:
    """Rotate the signing key every `rotation_days`; each new version expires as soon as Key Vault allows.

    Only signing needs an unexpired version, and the app signs with the newest one; tokens are
    verified locally with the public keys, so an expired previous version still verifies.
    """
    return keyvault.RotationPolicyArgs(
        attributes=keyvault.KeyRotationPolicyAttributesArgs(
            expiry_time=f"P{rotated_version_expiry_days(rotation_days)}D",
        ),
        lifetime_actions=[
            keyvault.LifetimeActionArgs(
                action=keyvault.ActionArgs(type=keyvault.KeyRotationPolicyActionType.ROTATE),
                trigger=keyvault.TriggerArgs(time_after_create=f"P{rotation_days}D"),
            )
        ],
    )


@dataclass(frozen=True)
class KeyVaultArgs:
    """What the vault needs: where it lives, who may use what, and where its traffic and logs go."""

    resource_group_name: pulumi.Input[str]
    """The stack's resource group."""
    location: str
    """Azure region."""
    vault_name: pulumi.Input[str]
    """Globally unique vault name with the per-stack suffix (names stay reserved while soft-deleted)."""
    sku: Literal["standard", "premium"]
    """`premium` makes both keys HSM-backed."""
    signing_key_rotation_days: int
    """How often Key Vault rotates the JWT signing key."""
    app_principal_id: pulumi.Input[str]
    """The app identity: signs with the signing key and reads the pepper."""
    network: Network
    """Provides the vault's private endpoint."""
    monitoring: Monitoring
    """Receives the vault's audit logs."""
    tags: Mapping[str, str]
    """Tags for every taggable resource."""
    expiries: KeyExpiries
    """When each key and secret expires (tied to the data-delete-by time)."""
    sealed: bool
    """True withdraws the app's grant on the pepper: it can pseudonymise nobody any more."""
    github_client_secret: str = field(default="", repr=False)
    """The GitHub OAuth app's client secret (from secret config); stored here, read by the app only."""
    allowed_github_logins: tuple[str, ...] = field(default=(), repr=False)
    """Logins admitted in allowlist mode: the app receives only their HMACs with the pepper."""


class KeyVault(pulumi.ComponentResource):
    """RBAC vault behind a private endpoint, with the signing key, the storage key and the pepper."""

    vault_id: pulumi.Output[str]
    vault_uri: pulumi.Output[str]
    vault_name: pulumi.Output[str]
    signing_key_name: pulumi.Output[str]
    signing_key_id: pulumi.Output[str]
    storage_key_name: pulumi.Output[str]
    storage_key_id: pulumi.Output[str]
    pepper_secret_name: pulumi.Output[str]
    github_secret_name: pulumi.Output[str]
    login_digests: pulumi.Output[str]

    def __init__(self, name: str, args: KeyVaultArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eventstack:azure:KeyVault", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        client = authorization.get_client_config_output()

        vault = keyvault.Vault(
            f"{name}-vault",
            vault_name=args.vault_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=client.tenant_id,
                sku=keyvault.SkuArgs(family="A", name=keyvault.SkuName(args.sku)),
                # Azure RBAC, not access policies: every grant is a role assignment at one
                # key or secret, visible to the access walk in the tests.
                enable_rbac_authorization=True,
                enable_soft_delete=True,
                soft_delete_retention_in_days=SOFT_DELETE_RETENTION_DAYS,
                # Required by the storage account's customer-managed key; cannot be undone.
                enable_purge_protection=True,
                enabled_for_deployment=False,
                enabled_for_disk_encryption=False,
                enabled_for_template_deployment=False,
                public_network_access="Disabled",
                # The storage service reaches the key for wrap/unwrap as a trusted service.
                network_acls=keyvault.NetworkRuleSetArgs(default_action="Deny", bypass="AzureServices"),
            ),
            tags=tags,
            opts=child,
        )
        retained = pulumi.ResourceOptions(parent=self, retain_on_delete=True)

        signing_key = keyvault.Key(
            f"{name}-signing-key",
            key_name=SIGNING_KEY_NAME,
            vault_name=vault.name,
            resource_group_name=args.resource_group_name,
            properties=keyvault.KeyPropertiesArgs(
                kty=key_type("EC", args.sku),
                curve_name=SIGNING_KEY_CURVE,
                key_ops=list(SIGNING_KEY_OPS),
                attributes=keyvault.KeyAttributesArgs(enabled=True, expires=args.expiries.signing_key),
                # Editing a key never makes a new version: the policy is what rotates it.
                rotation_policy=signing_key_rotation(args.signing_key_rotation_days),
            ),
            tags=tags,
            opts=retained,
        )
        storage_key = keyvault.Key(
            f"{name}-storage-key",
            key_name=STORAGE_KEY_NAME,
            vault_name=vault.name,
            resource_group_name=args.resource_group_name,
            properties=keyvault.KeyPropertiesArgs(
                kty=key_type("RSA", args.sku),
                key_size=STORAGE_KEY_SIZE,
                key_ops=list(STORAGE_KEY_OPS),
                attributes=keyvault.KeyAttributesArgs(enabled=True, expires=args.expiries.storage_key),
            ),
            tags=tags,
            opts=retained,
        )

        # The pepper turns GitHub ids into pseudonyms (HMAC); RandomPassword keeps it secret in state.
        pepper = random.RandomPassword(
            f"{name}-pepper",
            length=PEPPER_LENGTH,
            special=False,
            opts=child,
        )
        pepper_secret = keyvault.Secret(
            f"{name}-pepper-secret",
            secret_name=PEPPER_SECRET_NAME,
            vault_name=vault.name,
            resource_group_name=args.resource_group_name,
            properties=keyvault.SecretPropertiesArgs(
                # Marked secret here too, so no engine or mock can ever store it in plain text.
                value=pulumi.Output.secret(pepper.result),
                content_type="text/plain",
                attributes=keyvault.SecretAttributesArgs(enabled=True, expires=args.expiries.pepper),
            ),
            tags=tags,
            # Like keys, secrets are deleted through the unreachable data plane.
            opts=retained,
        )

        # The web flow's client secret: the app exchanges GitHub's authorization codes with it.
        github_secret = keyvault.Secret(
            f"{name}-github-secret",
            secret_name=GITHUB_SECRET_NAME,
            vault_name=vault.name,
            resource_group_name=args.resource_group_name,
            properties=keyvault.SecretPropertiesArgs(
                value=pulumi.Output.secret(args.github_client_secret),
                content_type="text/plain",
                attributes=keyvault.SecretAttributesArgs(enabled=True, expires=args.expiries.github_client_secret),
            ),
            tags=tags,
            opts=retained,
        )
        grant(
            f"{name}-app-reads-github-secret",
            "Key Vault Secrets User",
            scope=github_secret.id,
            principal_id=args.app_principal_id,
            parent=self,
            subscription_id=client.subscription_id,
        )

        grant(
            f"{name}-app-signs",
            "Key Vault Crypto User",
            scope=signing_key.id,
            principal_id=args.app_principal_id,
            parent=self,
            subscription_id=client.subscription_id,
        )
        # Sealing: without this grant the app can read the pepper no more (ARM cannot disable a
        # secret; the vault's data plane, which could, is closed). `sealed: false` grants it again.
        if not args.sealed:
            grant(
                f"{name}-app-reads-pepper",
                "Key Vault Secrets User",
                scope=pepper_secret.id,
                principal_id=args.app_principal_id,
                parent=self,
                subscription_id=client.subscription_id,
            )

        args.network.private_endpoint(f"{name}-pe", vault.id, PRIVATE_LINK_GROUP, parent=self)
        args.monitoring.diagnostics(f"{name}-diagnostics", vault.id, parent=self)

        self.vault_id = vault.id
        self.vault_uri = vault.properties.apply(lambda p: p.vault_uri or "")
        self.vault_name = vault.name
        self.signing_key_name = signing_key.name
        self.signing_key_id = signing_key.id
        self.storage_key_name = storage_key.name
        self.storage_key_id = storage_key.id
        self.pepper_secret_name = pepper_secret.name
        self.github_secret_name = github_secret.name
        logins = args.allowed_github_logins
        # Derived from the pepper, so Pulumi keeps it secret in state; the app gets digests, never logins.
        self.login_digests = pepper.result.apply(lambda pepper_value: login_digests(pepper_value, logins))
        self.register_outputs(
            {
                "vault_id": self.vault_id,
                "vault_uri": self.vault_uri,
                "vault_name": self.vault_name,
                "signing_key_name": self.signing_key_name,
                "signing_key_id": self.signing_key_id,
                "storage_key_name": self.storage_key_name,
                "storage_key_id": self.storage_key_id,
                "pepper_secret_name": self.pepper_secret_name,
                "github_secret_name": self.github_secret_name,
                "login_digests": self.login_digests,
            }
        )
