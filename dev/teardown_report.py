"""`make teardown-report`: everything that outlives `pulumi destroy`, for how long, and what ends it sooner.

Runs the program offline under the same mocks as the tests (`dev/offline.py`) and reads what it
registered. What may outlive a destroy is found in the run itself, not in a list kept by hand:
every resource Pulumi retains on delete, every input whose name speaks of retention, soft delete,
purge or recovery, every resource of a type Azure keeps recoverable after deletion, and every
resource whose data goes to the log workspace. Each item of the report says which of those
findings it accounts for; a finding no item accounts for is printed and makes the exit code 1
(and a test fails), so the report cannot silently fall behind the program.

    python -m dev.teardown_report [--stack dev] [--set blobSoftDeleteDays=3 ...]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pulumi

from components.config import ConfigError
from components.log_privacy import personal_categories_sent
from dev.offline import ProgramRun, RegisteredResource, config_overrides, run_program

VAULT = "azure-native:keyvault:Vault"
KEY = "azure-native:keyvault:Key"
SECRET = "azure-native:keyvault:Secret"  # noqa: S105 - a type token, not a credential
WORKSPACE = "azure-native:operationalinsights:Workspace"
APP_INSIGHTS = "azure-native:applicationinsights:Component"
DIAGNOSTIC_SETTINGS: frozenset[str] = frozenset(
    {"azure-native:monitor:DiagnosticSetting", "azure-native:insights:DiagnosticSetting"}
)
STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"

# An input whose name says it keeps deleted or overwritten things, or keeps things for a while.
LIFECYCLE_INPUT = re.compile(
    r"retention|softdelete|purge|retain|recover|immutab|legalhold|versioning|backup", re.IGNORECASE
)

# Types Azure keeps recoverable for a while after deletion, whatever their inputs say. A type
# listed here that the program starts to use, and no report item covers, fails the test.
RECOVERABLE_AFTER_DELETE: frozenset[str] = frozenset(
    {
        VAULT,
        WORKSPACE,
        STORAGE_ACCOUNT,
        "azure-native:keyvault:ManagedHsm",
        "azure-native:appconfiguration:ConfigurationStore",
        "azure-native:cognitiveservices:Account",
        "azure-native:apimanagement:ApiManagementService",
        "azure-native:recoveryservices:Vault",
        "azure-native:dataprotection:BackupVault",
    }
)
# Types whose data lands in a log workspace and so lives as long as the workspace keeps it.
SENDS_DATA_ELSEWHERE: frozenset[str] = DIAGNOSTIC_SETTINGS | {APP_INSIGHTS}

RETAINED_ON_DELETE = "retainOnDelete"
RECOVERABLE = "recoverable after deletion"
SENDS_TO_WORKSPACE = "sends data to a workspace"

# Azure's own periods, which no input of the program sets.
WORKSPACE_SOFT_DELETE_DAYS = 14
STORAGE_ACCOUNT_RECOVERY_DAYS = 14
ACTIVITY_LOG_DAYS = 90
VAULT_DEFAULT_SOFT_DELETE_DAYS = 90

Finding = tuple[str, str]
"""One thing about one resource that may outlive a destroy: (resource URN, input path or marker)."""


@dataclass(frozen=True)
class Survivor:
    """One thing that outlives `pulumi destroy`, and what the operator can and cannot do about it."""

    what: str
    how_long: str
    end_sooner: str
    azure_refuses: str
    covers: frozenset[Finding] = frozenset()


def _lifecycle_inputs(value: Any, path: str = "") -> Iterator[str]:
    if isinstance(value, Mapping):
        for key, child in value.items():
            child_path = f"{path}.{key}" if path else str(key)
            if LIFECYCLE_INPUT.search(str(key)):
                yield child_path
            else:
                yield from _lifecycle_inputs(child, child_path)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _lifecycle_inputs(child, f"{path}.{index}")


def findings(run: ProgramRun) -> set[Finding]:
    """Everything in the run that may outlive a destroy, read from the resources and their inputs."""
    found: set[Finding] = set()
    for resource in run.custom_resources():
        found |= {(resource.urn, path) for path in _lifecycle_inputs(resource.inputs)}
        if resource.retain_on_delete:
            found.add((resource.urn, RETAINED_ON_DELETE))
        if resource.type in RECOVERABLE_AFTER_DELETE:
            found.add((resource.urn, RECOVERABLE))
        if resource.type in SENDS_DATA_ELSEWHERE:
            found.add((resource.urn, SENDS_TO_WORKSPACE))
    return found


def _reads(resource: RegisteredResource, *what: str) -> set[Finding]:
    """The findings an item accounts for: exactly the inputs (or markers) it reads and reports."""
    return {(resource.urn, item) for item in what}


def _number(value: Any) -> str:
    """A count of days as the engine hands it over (numbers arrive as floats), printed plainly."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _days(count: str) -> str:
    return f"{count} day" if count == "1" else f"{count} days"


def _date(epoch: Any) -> str:
    if not isinstance(epoch, int | float):
        return "never (no expiry set)"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _key_vaults(run: ProgramRun) -> Iterator[Survivor]:
    for vault in run.of_type(VAULT):
        name = vault.get("vaultName", vault.name)
        days = _number(vault.get("properties.softDeleteRetentionInDays", VAULT_DEFAULT_SOFT_DELETE_DAYS))
        purge_protected = vault.get("properties.enablePurgeProtection") is True
        yield Survivor(
            what=f"Key Vault {name}, soft-deleted: no attendee data, but the pepper and the storage account's key",
            how_long=f"{days} days after `pulumi destroy` (softDeleteRetentionInDays); the name stays reserved as long",
            end_sooner=(
                "nothing: purge protection is on (the customer-managed storage key requires it)"
                if purge_protected
                else f"`az keyvault purge --name {name}` once it is deleted"
            ),
            azure_refuses=(
                "purging a purge-protected vault or key before its retention ends, turning purge protection "
                "off, and a soft-delete retention below 7 days"
            ),
            covers=frozenset(
                _reads(
                    vault,
                    "properties.enableSoftDelete",
                    "properties.softDeleteRetentionInDays",
                    "properties.enablePurgeProtection",
                    RECOVERABLE,
                )
            ),
        )
        items = [r for r in [*run.of_type(KEY), *run.of_type(SECRET)] if r.get("vaultName") == name]
        retained = [r for r in items if r.retain_on_delete]
        if not retained:
            continue
        expiries = "; ".join(
            f"{r.get('keyName') or r.get('secretName')} expires {_date(r.get('properties.attributes.expires'))}"
            for r in retained
        )
        rotations = [
            f"{r.get('keyName')}: each rotated version expires "
            f"{r.get('properties.rotationPolicy.attributes.expiryTime')} after its rotation"
            for r in retained
            if r.get("properties.rotationPolicy.attributes.expiryTime")
        ]
        yield Survivor(
            what=(
                f"keys and secrets in {name}, retained on delete (Pulumi forgets them; they go with the vault): "
                + expiries
            ),
            how_long=(
                f"as long as the vault, {days} days after `pulumi destroy`; "
                + ("; ".join(rotations) + ", so a version rotated shortly before the end outlives its expiry date")
                if rotations
                else f"as long as the vault, {days} days after `pulumi destroy`"
            ),
            end_sooner=(
                "`pulumi config set eventstack:sealed true && pulumi up` withdraws the storage service's and the "
                "app's grants at once; then `pulumi destroy` soon, so that no rotation makes a fresh signing "
                "key version"
            ),
            azure_refuses=(
                "updating an existing key's attributes through ARM (and the vault's data plane is closed); an "
                "absolute expiry in a rotation policy (only durations of at least 28 days); withdrawing a grant "
                "is no crypto-shredding while the vault can still recover the key"
            ),
            covers=frozenset({(r.urn, RETAINED_ON_DELETE) for r in retained}),
        )


def _workspaces(run: ProgramRun) -> Iterator[Survivor]:
    for workspace in run.of_type(WORKSPACE):
        feeders = [
            r
            for r in run.resources
            if (r.type in DIAGNOSTIC_SETTINGS and r.get("workspaceId") == workspace.id)
            or (r.type == APP_INSIGHTS and r.get("workspaceResourceId") == workspace.id)
        ]
        settings = sum(1 for r in feeders if r.type in DIAGNOSTIC_SETTINGS)
        components = sum(1 for r in feeders if r.type == APP_INSIGHTS)
        name = workspace.outputs.get("name", workspace.name)
        personal = sorted(
            category
            for r in feeders
            if r.type in DIAGNOSTIC_SETTINGS
            for category in personal_categories_sent(str(r.get("resourceUri", "")), r.get("logs") or [])
        )
        contents = (
            "client IP addresses and request URIs from " + ", ".join(personal)
            if personal
            else "no attendee IP addresses: Front Door's access and WAF logs are not collected, only its health "
            "probe log and metrics (components/log_privacy.py; THREATS.md T20)"
        )
        yield Survivor(
            what=(
                f"Log Analytics workspace {name}: the vault's audit logs, the storage logs, the edge's health probe "
                f"log and metrics ({settings} diagnostic settings) and Application Insights telemetry ({components} "
                f"component, workspace-based, client IPs masked); {contents}"
            ),
            how_long=(
                f"{_number(workspace.get('retentionInDays'))} days per record (retentionInDays) while it exists; after "
                f"`pulumi destroy` it is soft-deleted and recoverable for {WORKSPACE_SOFT_DELETE_DAYS} days"
            ),
            end_sooner=(
                f"delete it for good before the destroy: `az monitor log-analytics workspace delete --force --yes "
                f"--resource-group <group> --workspace-name {name}`"
            ),
            azure_refuses=(
                "a workspace retention below 30 days (PerGB2018); removing single records except through the "
                "workspace's asynchronous purge API"
            ),
            covers=frozenset(
                _reads(workspace, "retentionInDays", RECOVERABLE) | {(r.urn, SENDS_TO_WORKSPACE) for r in feeders}
            ),
        )


def _storage_accounts(run: ProgramRun) -> Iterator[Survivor]:
    for account in run.of_type(STORAGE_ACCOUNT):
        name = account.get("accountName", account.name)
        services = [r for r in run.of_type(BLOB_SERVICE) if r.get("accountName") == name]
        for service in services:
            blob_days = _number(service.get("deleteRetentionPolicy.days"))
            container_days = _number(service.get("containerDeleteRetentionPolicy.days"))
            versions = (
                "; versioning is off, so no overwritten or deleted version is kept"
                if service.get("isVersioningEnabled") is False
                else "; versioning is on: every overwritten or deleted version stays until deleted itself"
            )
            yield Survivor(
                what=f"soft-deleted blobs and containers in {name} (attendee blobs the lifecycle rule deleted)",
                how_long=(
                    f"{_days(blob_days)} for a blob, {_days(container_days)} for a container after each delete, while "
                    "the account exists; the whole account goes with `pulumi destroy`" + versions
                ),
                end_sooner="a shorter `blobSoftDeleteDays` (1 is the least), set before the event",
                azure_refuses=(
                    "purging a soft-deleted blob before its retention ends: switching soft delete off keeps "
                    "those already deleted until then"
                ),
                covers=frozenset(
                    _reads(service, "deleteRetentionPolicy", "containerDeleteRetentionPolicy", "isVersioningEnabled")
                ),
            )
        yield Survivor(
            what=f"storage account {name} after deletion, encrypted with the vault's storage key",
            how_long=(
                f"Azure may recover a deleted account on request within {STORAGE_ACCOUNT_RECOVERY_DAYS} days (best "
                "effort); its data is readable only while the storage key is reachable"
            ),
            end_sooner=(
                "seal first (`sealed: true`): with the key's grant withdrawn every data request gets 403, and a "
                "recovered account stays unreadable unless someone grants the key again"
            ),
            azure_refuses="purging a deleted storage account; deleting single rows or blobs once it is deleted",
            covers=frozenset(_reads(account, RECOVERABLE)),
        )


def _outside_the_stack(run: ProgramRun) -> Iterator[Survivor]:
    yield Survivor(
        what="the subscription's activity log: every `pulumi up` and `destroy` operation, caller and resource names",
        how_long=f"{ACTIVITY_LOG_DAYS} days, kept by Azure outside the resource group",
        end_sooner="nothing; it holds no attendee data",
        azure_refuses="deleting or shortening the activity log",
    )
    yield Survivor(
        what="Microsoft Entra sign-in logs of the two managed identities (token requests to Key Vault and Storage)",
        how_long="30 days (7 on Entra ID Free), kept by the tenant",
        end_sooner="nothing; they hold no attendee data",
        azure_refuses="deleting sign-in log entries",
    )
    yield Survivor(
        what=(
            "the GitHub OAuth app (outside Azure; the program never creates it) and its client secret, which "
            "also sits in the Pulumi state and, until the vault is purged, in the soft-deleted vault"
        ),
        how_long="until the organiser deletes them on GitHub",
        end_sooner=(
            "on GitHub, Settings > Developer settings > OAuth Apps > the app: delete the client secret (or "
            "'Revoke all user tokens'), then 'Delete application'; attendees' authorisations of the app go with it"
        ),
        azure_refuses="(not Azure's: only the app's owner on GitHub can delete it)",
    )
    yield Survivor(
        what="the Pulumi state and its update history: every input, the pepper among them as an encrypted secret",
        how_long="until the stack is removed",
        end_sooner=(
            "`pulumi stack rm` after the destroy; a self-managed backend may also keep history and backup files "
            "under `.pulumi/`, removed by hand"
        ),
        azure_refuses="(not Azure's: the state backend's own retention applies)",
    )


REPORT_SECTIONS: tuple[Callable[[ProgramRun], Iterator[Survivor]], ...] = (
    _key_vaults,
    _workspaces,
    _storage_accounts,
    _outside_the_stack,
)


def survivors(run: ProgramRun) -> list[Survivor]:
    """Every item of the report, in the order it is printed."""
    return [item for section in REPORT_SECTIONS for item in section(run)]


def unaccounted(run: ProgramRun) -> set[Finding]:
    """Findings of the run that no report item accounts for: each one is a gap in the report."""
    covered: set[Finding] = set()
    for item in survivors(run):
        covered |= item.covers
    return findings(run) - covered


def render(run: ProgramRun, stack: str) -> str:
    """The report as text."""
    lines = [
        f"teardown report for stack {stack!r}: what outlives `pulumi destroy` "
        f"(data-delete-by {run.outputs.get('dataDeleteBy')})",
        "",
    ]
    for number, item in enumerate(survivors(run), start=1):
        lines += [
            f"{number}. {item.what}",
            f"   how long:       {item.how_long}",
            f"   end it sooner:  {item.end_sooner}",
            f"   Azure refuses:  {item.azure_refuses}",
            "",
        ]
    gaps = sorted(unaccounted(run))
    if gaps:
        lines.append("NOT ACCOUNTED FOR (the report needs an item for each):")
        lines += [f"  {urn}: {what}" for urn, what in gaps]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="dev", help="stack whose Pulumi.<stack>.yaml to read (default: dev)")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override one config value for this run"
    )
    args = parser.parse_args(argv)
    try:
        run = run_program(args.stack, config_overrides(args.set, parser.error))
    except (ConfigError, pulumi.RunError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(render(run, args.stack))
    return 1 if unaccounted(run) else 0


if __name__ == "__main__":
    sys.exit(main())
