"""The estate: the Terragrunt live tree read statically into units and edges. Knows nothing of Dagster."""

from ml_clusters.estate.model import Account, Dependency, Estate, EstateError, RemoteState, Unit, Unresolved
from ml_clusters.estate.reader import default_live_dir, discover, load_estate
from ml_clusters.estate.wiring import WiringViolation, check_wiring

__all__ = [
    "Account",
    "Dependency",
    "Estate",
    "EstateError",
    "RemoteState",
    "Unit",
    "WiringViolation",
    "check_wiring",
    "Unresolved",
    "default_live_dir",
    "discover",
    "load_estate",
]
