"""The Key Vault: RBAC only, purge-protected, private."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ResourceValidationPolicy

from .assembly import ignoring_type, resource_policy
from .props import Check, prop, require, sequence
from .resource_types import KEY_VAULT, VAULT_KEY

# Key types whose private half lives in the vault's HSMs (Premium SKU).
HSM_KEY_TYPES: frozenset[str] = frozenset({"EC-HSM", "RSA-HSM"})


def _vault_rbac(props: Mapping[str, Any]) -> Iterator[str]:
    yield from require(props, "properties.enableRbacAuthorization", True, "least privilege through role assignments")
    if sequence(prop(props, "properties.accessPolicies")):
        yield "properties.accessPolicies must be empty (access policies bypass role assignments)"


def _vault_purge_protection(props: Mapping[str, Any]) -> Iterator[str]:
    yield from require(
        props, "properties.enablePurgeProtection", True, "keys cannot be destroyed early; the storage key needs it"
    )


def _vault_public_network(props: Mapping[str, Any]) -> Iterator[str]:
    yield from require(props, "properties.publicNetworkAccess", "Disabled", "reachable only through the VNet")


def _vault_network_default_deny(props: Mapping[str, Any]) -> Iterator[str]:
    yield from require(
        props, "properties.networkAcls.defaultAction", "Deny", "no network path but the private endpoint"
    )


def _vault(name: str, description: str, check: Check) -> ResourceValidationPolicy:
    return resource_policy(name, description, ignoring_type(check), frozenset({KEY_VAULT}))


def _hsm_key(props: Mapping[str, Any]) -> Iterator[str]:
    kty = prop(props, "properties.kty")
    if not (isinstance(kty, str) and kty.upper() in HSM_KEY_TYPES):
        yield (
            f"properties.kty must be one of {sorted(HSM_KEY_TYPES)} (the signing and storage keys are HSM-backed, "
            f"Key Vault Premium); found {kty!r}"
        )


RESOURCE_POLICIES: list[ResourceValidationPolicy] = [
    _vault("vault-rbac-authorization", "Key vaults authorize with Azure RBAC, not access policies.", _vault_rbac),
    _vault("vault-purge-protection", "Key vaults have purge protection on.", _vault_purge_protection),
    _vault(
        "vault-public-network-access-disabled", "Key vaults are closed to the public network.", _vault_public_network
    ),
    _vault("vault-network-default-deny", "Key vault network ACLs deny by default.", _vault_network_default_deny),
    resource_policy(
        "vault-keys-hsm-backed",
        "Key Vault keys are HSM-backed (EC-HSM or RSA-HSM).",
        ignoring_type(_hsm_key),
        frozenset({VAULT_KEY}),
    ),
]
