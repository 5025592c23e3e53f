"""Ask a running Dagster webserver (its GraphQL API) what a person would see: is the code loaded, are the
sensors on, have they ticked. Used by `ml-clusters sandbox`, the browser test and the start benchmark."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable

DONE_TICK_STATUSES = {"SUCCESS", "SKIPPED", "FAILURE"}


class ProbeError(RuntimeError):
    pass


def graphql(
    base_url: str, query: str, variables: dict[str, Any] | None = None, timeout: float = 30.0
) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{base_url.rstrip('/')}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        body = json.loads(response.read())
    if body.get("errors"):
        raise ProbeError(body["errors"][0].get("message", str(body["errors"])))
    return body["data"]


_LOCATIONS = """
{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus
    locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""

_SENSORS = """
{ repositoriesOrError { __typename ... on RepositoryConnection { nodes { name location { name }
    sensors { name sensorState { status ticks(limit: 1) { status timestamp skipReason error { message } }
      typeSpecificData { ... on SensorData { lastCursor } } } } } } } }
"""

_CHECKS = """
{ assetNodes { assetKey { path } assetChecksOrError { ... on AssetChecks { checks { name
    executionForLatestMaterialization { status evaluation { description } } } } } } }
"""

_START_SENSOR = """
mutation($selector: SensorSelector!) { startSensor(sensorSelector: $selector) { __typename
    ... on Sensor { name } ... on PythonError { message } ... on UnauthorizedError { message } } }
"""


@dataclass(frozen=True)
class SensorView:
    location: str
    repository: str
    name: str
    status: str  # RUNNING / STOPPED
    last_tick: str | None  # SUCCESS / SKIPPED / FAILURE / STARTED / None
    last_tick_message: str | None
    skipped: tuple[str, ...] = ()  # slices the sensor could not observe, with the reason (from its cursor)


def location_status(base_url: str) -> tuple[bool, str | None]:
    """(loaded, load error message) of the workspace's code locations."""
    data = graphql(base_url, _LOCATIONS)["workspaceOrError"]
    entries = data.get("locationEntries", [])
    if not entries:
        return False, None
    for entry in entries:
        if entry["loadStatus"] != "LOADED":
            return False, None
        loaded = entry["locationOrLoadError"] or {}
        if loaded.get("__typename") == "PythonError":
            return True, f"{entry['name']}: {loaded['message'].strip().splitlines()[-1]}"
    return True, None


def sensors(base_url: str) -> list[SensorView]:
    data = graphql(base_url, _SENSORS)["repositoriesOrError"]
    views = []
    for repo in data.get("nodes", []):
        for sensor in repo["sensors"]:
            state = sensor["sensorState"]
            tick = (state.get("ticks") or [None])[0]
            message = None
            if tick:
                message = tick.get("skipReason") or ((tick.get("error") or {}).get("message"))
            views.append(
                SensorView(
                    repo["location"]["name"],
                    repo["name"],
                    sensor["name"],
                    state["status"],
                    tick and tick["status"],
                    message,
                    _skipped_slices((state.get("typeSpecificData") or {}).get("lastCursor")),
                )
            )
    return views


def _skipped_slices(cursor: str | None) -> tuple[str, ...]:
    # The monitoring sensors keep the slices they could not observe in their cursor (TickCursor.skipped).
    try:
        skipped = json.loads(cursor or "{}").get("skipped") or []
    except (ValueError, AttributeError):
        return ()
    return tuple(str(s) for s in skipped)


def start_sensors(base_url: str) -> list[str]:
    """Turn on every stopped sensor, as a person would with the UI's toggle. Returns the names started."""
    started = []
    for view in sensors(base_url):
        if view.status == "RUNNING":
            continue
        selector = {"repositoryLocationName": view.location, "repositoryName": view.repository, "sensorName": view.name}
        result = graphql(base_url, _START_SENSOR, {"selector": selector})["startSensor"]
        if result["__typename"] != "Sensor":
            raise ProbeError(f"could not start sensor {view.name}: {result.get('message')}")
        started.append(view.name)
    return started


def wait_for(
    condition: Callable[[], Any],
    timeout: float,
    what: str,
    interval: float = 0.5,
    alive: Callable[[], bool] | None = None,
) -> Any:
    """Poll until `condition()` is truthy; connection errors count as not yet."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise ProbeError(f"gave up waiting for {what}: the process exited")
        try:
            value = condition()
            if value:
                return value
        except (urllib.error.URLError, ConnectionError, TimeoutError, ProbeError, json.JSONDecodeError) as error:
            last_error = error
        time.sleep(interval)
    raise ProbeError(
        f"{what} did not happen within {timeout:.0f}s" + (f" (last error: {last_error})" if last_error else "")
    )


def sensor_round_complete(base_url: str) -> list[SensorView] | None:
    """Every sensor has finished at least one tick → the views; else None."""
    views = sensors(base_url)
    if views and all(v.last_tick in DONE_TICK_STATUSES for v in views):
        return views
    return None


@dataclass(frozen=True)
class CheckView:
    asset: str  # "secondary-account/us-west-2/s3-data-replica"
    check: str
    status: str | None  # SUCCEEDED / FAILED / EXECUTION_FAILED / IN_PROGRESS / None (never evaluated)
    description: str | None


def check_results(base_url: str) -> list[CheckView]:
    """The latest result of every asset check, as the asset pages show them."""
    views = []
    for node in graphql(base_url, _CHECKS)["assetNodes"]:
        for check in (node.get("assetChecksOrError") or {}).get("checks", []):
            execution = check.get("executionForLatestMaterialization") or {}
            views.append(
                CheckView(
                    "/".join(node["assetKey"]["path"]),
                    check["name"],
                    execution.get("status"),
                    (execution.get("evaluation") or {}).get("description"),
                )
            )
    return views
