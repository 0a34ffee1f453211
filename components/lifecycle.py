"""When the stack's keys and secret expire: every expiry derives from the data-delete-by time.

Key Vault's `exp` attribute is enforced per operation, not per object:

- after `exp` Key Vault refuses `sign`, `encrypt` and `wrapKey`, but still allows `verify`,
  `decrypt` and `unwrapKey`, and still returns an expired secret's value;
- so the signing key's expiry really ends token issuance, while the storage key's (wrap only
  at key changes, unwrap keeps working) and the pepper's (still readable) are hygiene: they mark
  the material as past its use, they do not lock anything.

Nothing may stop before the data-delete-by time. The signing key and the GitHub client secret
(needed only while sign-in is open) expire exactly then; the storage key and the pepper one day
later, because the blob lifecycle rule counts whole days and
runs about once a day, and the last purge must not depend on how Azure Storage treats an
expired key (that is verified only in Azure).

A rotation policy's expiry is an ISO 8601 duration counted from each new version's creation,
never an absolute time, and Key Vault wants it at least 28 days and at least 7 days after the
rotation. A version rotated in the last weeks before the data-delete-by time therefore outlives
it; the shortest expiry Key Vault accepts keeps that overhang as small as it can be.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from components.config import StackConfig

# The signing key (no signing after it) and the GitHub client secret expire at the deadline itself.
DEADLINE_EXPIRY_MARGIN = timedelta(0)
# One lifecycle-rule day: the storage key and the pepper outlast the last daily purge run.
HYGIENE_EXPIRY_MARGIN = timedelta(days=1)
# No expiry in the stack may lie further past the data-delete-by time than this.
MAX_EXPIRY_MARGIN = HYGIENE_EXPIRY_MARGIN

# Key Vault's bounds on a rotation policy: a version lives at least 28 days, and the rotation
# comes at least 7 days before the version it replaces expires.
ROTATED_VERSION_MIN_EXPIRY_DAYS = 28
ROTATION_BEFORE_EXPIRY_MIN_DAYS = 7


def epoch_seconds(moment: datetime) -> int:
    """Seconds since 1970-01-01T00:00:00Z: the form Key Vault's `exp` attribute takes."""
    return int(moment.timestamp())


def rotated_version_expiry_days(rotation_days: int) -> int:
    """The shortest lifetime Key Vault accepts for a version its rotation policy creates."""
    return max(ROTATED_VERSION_MIN_EXPIRY_DAYS, rotation_days + ROTATION_BEFORE_EXPIRY_MIN_DAYS)


@dataclass(frozen=True)
class KeyExpiries:
    """When each key and secret of the vault expires, as Key Vault's epoch seconds."""

    signing_key: int
    """The JWT signing key: no token can be signed after it."""
    storage_key: int
    """The storage encryption key: hygiene (unwrap still works after it)."""
    pepper: int
    """The pepper secret: hygiene (an expired secret is still returned)."""
    github_client_secret: int
    """The GitHub OAuth app's client secret: hygiene, like the pepper."""

    @classmethod
    def from_config(cls, config: StackConfig) -> KeyExpiries:
        """Each expiry at the data-delete-by time plus its stated margin."""
        delete_by = config.data_delete_by
        return cls(
            signing_key=epoch_seconds(delete_by + DEADLINE_EXPIRY_MARGIN),
            storage_key=epoch_seconds(delete_by + HYGIENE_EXPIRY_MARGIN),
            pepper=epoch_seconds(delete_by + HYGIENE_EXPIRY_MARGIN),
            github_client_secret=epoch_seconds(delete_by + DEADLINE_EXPIRY_MARGIN),
        )
