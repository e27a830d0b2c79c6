"""Bounded retries with exponential backoff, and cluster errors as messages a user can act on.

`retrying(call, what, conn)` retries what a busy or restarting cluster causes
(connection refused, timeouts, 429 and 5xx) a few times, waiting longer each
time, then raises BackendError naming the operation, the URL (without secrets)
and what to check. Errors that retrying cannot fix (bad credentials, a refused
mapping) are reported at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from ragdsl.backends.base import BackendError
from ragdsl.backends.elasticsearch.connection import RETRY_ON_STATUS, Connection

T = TypeVar("T")

ATTEMPTS = 3  # calls in all, each itself retried CLIENT_MAX_RETRIES times at once by the client
BACKOFF_SECONDS = 1.0  # waits 1 s, then 2 s, ... between attempts
MAX_BACKOFF_SECONDS = 8.0


def retrying(call: Callable[[], T], what: str, conn: Connection, *, attempts: int | None = None) -> T:
    attempts = ATTEMPTS if attempts is None else attempts
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - classified below; anything else is re-raised
            if not transient(exc) or attempt == attempts:
                raise as_backend_error(exc, what, conn, attempts=attempt) from exc
            time.sleep(min(BACKOFF_SECONDS * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS))
    raise AssertionError("unreachable")


def transient(exc: BaseException) -> bool:
    """Whether trying again later may succeed."""
    from elastic_transport import ConnectionError as TransportConnectionError
    from elastic_transport import ConnectionTimeout
    from elasticsearch import ApiError

    if isinstance(exc, ConnectionTimeout):
        return True
    if isinstance(exc, TransportConnectionError):  # TLS errors are not transient
        return not _is_tls(exc)
    if isinstance(exc, ApiError):
        return exc.meta.status in RETRY_ON_STATUS
    return False


def as_backend_error(exc: BaseException, what: str, conn: Connection, *, attempts: int = 1) -> BaseException:
    """A BackendError for a cluster failure while doing `what`; other exceptions are returned unchanged."""
    from elastic_transport import ConnectionError as TransportConnectionError
    from elastic_transport import ConnectionTimeout
    from elasticsearch import ApiError, AuthenticationException, AuthorizationException

    tries = f" (tried {attempts} times)" if attempts > 1 else ""
    where = f"Elasticsearch at {conn.display}"
    if isinstance(exc, ConnectionTimeout):
        return BackendError(f"{where} did not answer within {conn.timeout:g} s while {what}{tries}",
                            "the cluster is overloaded or unreachable; check its health "
                            "(GET _cluster/health) or raise elasticsearch(timeout = ...)")
    if isinstance(exc, TransportConnectionError):
        if _is_tls(exc):
            return BackendError(f"TLS handshake with {where} failed while {what}",
                                "check the https URL and elasticsearch(ca_certs = ...)")
        return BackendError(f"cannot reach {where} while {what}{tries}",
                            "is the cluster running and the URL right? "
                            "(backends/elasticsearch/README.md starts a local one with Docker)")
    if isinstance(exc, AuthenticationException):
        return BackendError(f"{where} refused the credentials while {what}",
                            "check the environment variables named by api_key / username / password")
    if isinstance(exc, AuthorizationException):
        return BackendError(f"{where} did not allow {what}: {_reason(exc)}",
                            "the API key or user needs create_index, write, read and "
                            "view_index_metadata on the ragdsl-* indices")
    if isinstance(exc, ApiError):
        return BackendError(f"{where} refused {what}{tries}: HTTP {exc.meta.status} {_reason(exc)}",
                            "see the cluster's log; a 429 or 503 means it is overloaded")
    from haystack.document_stores.errors import DocumentStoreError

    if isinstance(exc, DocumentStoreError):
        first = str(exc).splitlines()[1][:300] if "\n" in str(exc) else str(exc)[:300]
        return BackendError(f"{where} rejected documents while {what}: {first}",
                            "a metadata field may have changed type between passages")
    return exc


def _reason(exc: BaseException) -> str:
    info = getattr(exc, "info", None) or getattr(exc, "body", None)
    if isinstance(info, dict):
        error = info.get("error")
        if isinstance(error, dict):
            return f"{error.get('type', '')}: {error.get('reason', '')}".strip(": ")
        if isinstance(error, str):
            return error
    return getattr(exc, "message", "") or type(exc).__name__


def _is_tls(exc: BaseException) -> bool:
    from elastic_transport import TlsError

    return isinstance(exc, TlsError)
