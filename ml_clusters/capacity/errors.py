"""One-line explanations of what went wrong while searching for or buying capacity.

Every failure the capacity commands can meet ends as a `CapacityError` whose text is a single line
meant for a person: the CLI prints it and exits non-zero; the Dagster job fails with it.
"""

from __future__ import annotations

import os
import re

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
    ReadTimeoutError,
    UnknownEndpointError,
)
from botocore.parsers import ResponseParserError


class CapacityError(Exception):
    """A problem reported to the user as one line; nothing was bought unless the text says so."""


# What a boto3 call can raise about AWS (an unreadable answer is a ResponseParserError, not a BotoCoreError).
AWS_ERRORS = (ClientError, BotoCoreError, ResponseParserError)


ACCESS_DENIED = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthFailure",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "OptInRequired",
}
INSUFFICIENT_CAPACITY = {
    "InsufficientInstanceCapacity",
    "InsufficientCapacity",
    "InsufficientReservedInstanceCapacity",
    "InsufficientCapacityException",
    "InsufficientHostCapacity",
    "UnfulfillableCapacity",
    "CapacityError",
}
# What EC2 / SageMaker answer in a Region (or partition) that does not offer the operation.
NOT_IN_REGION = {
    "InvalidAction",
    "UnsupportedOperation",
    "Unsupported",
    "UnknownOperationException",
    "UnknownOperation",
    "NotImplemented",
}
THROTTLED = {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}
# An offering id that no longer resolves: EC2 answers with one of these, SageMaker with ResourceNotFound.
OFFERING_GONE_CODES = {
    "InvalidCapacityBlockOfferingId",
    "InvalidCapacityBlockOfferingId.NotFound",
    "InvalidCapacityBlockOfferingId.Malformed",
    "InvalidCapacityBlockExtensionOfferingId",
    "InvalidCapacityBlockExtensionOfferingId.NotFound",
    "InvalidOfferingId",
    "OfferingExpired",
    "ResourceNotFound",
}
_GONE_WORDS = re.compile(r"offering.*(expired|no longer|not found|not available|invalid|does not exist)", re.I)


MAX_MESSAGE = 240


def one_line(text: str) -> str:
    """One line, without markup (some endpoints answer errors with an HTML page), and not endless."""
    flat = " ".join(re.sub(r"<[^>]+>", " ", str(text)).split())
    return flat if len(flat) <= MAX_MESSAGE else flat[:MAX_MESSAGE - 1] + "…"


def _server_failure(action: str, where: str, buying: bool, detail: str) -> CapacityError:
    # A call that spends money and got no readable answer may have succeeded: say so whatever the endpoint
    # (an emulator that lacks the API is only the likeliest story, never a certainty).
    if buying:
        return CapacityError(f"{action}{where}: the request failed{detail} — outcome unknown: the purchase MAY have "
                             "gone through; check `list` before trying again")
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        return CapacityError(f"{action}: the endpoint {endpoint} (AWS_ENDPOINT_URL) failed{detail} — the local AWS "
                             "emulator does not implement the Capacity Block / Training Plan APIs")
    return CapacityError(f"{action}{where}: AWS failed internally{detail}; try again later")


def error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "") or ""


def explain(exc: Exception, *, action: str, region: str | None = None, offering_id: str | None = None,
            buying: bool = False) -> CapacityError:
    """Turn a boto error into a one-line `CapacityError` for `action` (e.g. "purchase_capacity_block").

    `buying` marks calls that spend money: a timeout there is reported as an unknown outcome, because
    the purchase may have gone through although the answer never arrived.
    """
    where = f" in {region}" if region else ""
    if isinstance(exc, CapacityError):
        return exc
    if isinstance(exc, ClientError):
        code = error_code(exc)
        message = one_line(exc.response.get("Error", {}).get("Message", "") or "")
        detail = f" ({code}: {message})" if message else f" ({code})"
        if code == "DryRunOperation":
            return CapacityError(f"{action}: dry run succeeded — the request would have been accepted; nothing bought")
        if code in ACCESS_DENIED:
            return CapacityError(f"{action}{where}: access denied{detail}; nothing bought")
        if code in INSUFFICIENT_CAPACITY or "insufficient capacity" in message.lower():
            return CapacityError(f"{action}{where}: insufficient capacity{detail}; nothing bought — search again "
                                 "with another count, duration or date window")
        if code in NOT_IN_REGION:
            return CapacityError(f"{action} is not available{where}{detail}")
        if offering_id and (code in OFFERING_GONE_CODES or _GONE_WORDS.search(message)):
            return CapacityError(f"offering {offering_id} is no longer available (it expired or was taken since "
                                 f"the search){detail}; nothing bought — run search again")
        if code in THROTTLED:
            return CapacityError(f"{action}{where}: AWS throttled the request{detail}; try again in a minute")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        if status >= 500 or code in ("500", "InternalError", "InternalFailure", "ServiceUnavailable"):
            return _server_failure(action, where, buying, f" (HTTP {status or code})")
        return CapacityError(f"{action}{where} failed{detail}")
    if isinstance(exc, (ReadTimeoutError, ConnectTimeoutError)) and buying:
        return CapacityError(f"{action}{where}: no answer from AWS ({one_line(exc)}) — the purchase MAY have gone "
                             "through; check `list` before trying again")
    if buying and isinstance(exc, HTTPClientError) and not isinstance(exc, EndpointConnectionError):
        # The connection broke after the request may have been sent (ConnectionClosedError, a reset, a proxy
        # failure): the answer was lost, not necessarily the purchase.
        return CapacityError(f"{action}{where}: the connection failed before AWS answered ({one_line(exc)}) — "
                             "outcome unknown: the purchase MAY have gone through; check `list` before trying again")
    if isinstance(exc, ResponseParserError):
        return _server_failure(action, where, buying, " (unreadable response)")
    if isinstance(exc, (EndpointConnectionError, UnknownEndpointError)):
        return CapacityError(f"{action}: no reachable endpoint{where} ({one_line(exc)}); the service may not be "
                             "offered in that Region")
    if isinstance(exc, NoRegionError):
        return CapacityError(f"{action}: no AWS Region given; pass --region or set AWS_REGION")
    if isinstance(exc, NoCredentialsError):
        return CapacityError(f"{action}: no AWS credentials found; configure a profile or environment credentials")
    if isinstance(exc, BotoCoreError):
        return CapacityError(f"{action}{where} failed: {one_line(exc)}")
    return CapacityError(f"{action}{where} failed: {type(exc).__name__}: {one_line(exc)}")
