"""Estate accounts by the names people type: `main`, `main-account` or `483026362307`."""

from __future__ import annotations

from ml_clusters.capacity.aws import Target
from ml_clusters.capacity.errors import CapacityError
from ml_clusters.estate.model import Account, Estate


def resolve_account(estate: Estate, name: str) -> Account:
    wanted = name.strip()
    for account in estate.accounts.values():
        if wanted in (account.key, account.name, account.id):
            return account
    known = ", ".join(f"{a.name} ({a.key}, {a.id})" for a in sorted(estate.accounts.values(), key=lambda a: a.key))
    raise CapacityError(f"unknown account {name!r}; the estate's accounts are: {known or 'none'}")


def target_for(account: Account | None, region: str) -> Target:
    """Where to act. An account.hcl may name the role to assume for capacity work with a
    `capacity_role` local (a role name or ARN); else ML_CLUSTERS_CAPACITY_ROLE or TerraformExecutionRole."""
    if account is None:
        return Target(region=region)
    role = account.locals.get("capacity_role") if account.locals else None
    return Target(region=region, account_id=account.id, account_label=account.key,
                  role=role if isinstance(role, str) and role else None)
