"""Connecting to a cluster from a spec's `elasticsearch(...)` parameters, secrets from the environment only.

Canonical store params hold `{"env": "NAME"}` where the spec wrote `env("NAME")`;
they are resolved here, at run time, and never written back anywhere. The URL
shown in messages (`Connection.display`) has no user info and no query string.
Basic-auth credentials travel as an `Authorization` header because
ElasticsearchDocumentStore.to_dict() leaves headers out (its other client
kwargs would be serialized into exported pipelines); an API key stays a
haystack `Secret.from_env_var`, which serializes as the variable's name.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

from ragdsl.backends.base import BackendError

# Client-level retries are immediate (same request again); ragdsl.backends.elasticsearch.retry
# adds backoff around index-time calls. Timeouts are retried there, not here, so a slow
# cluster costs at most `attempts x timeout` per call.
CLIENT_MAX_RETRIES = 2
RETRY_ON_STATUS = (429, 502, 503, 504)


@dataclass(frozen=True)
class Connection:
    """A cluster to talk to: what the client needs, and what may be shown."""

    url: str  # without user info
    display: str  # for messages: the URL without user info, and where it came from
    timeout: float
    api_key_env: str | None = None
    basic_auth: tuple[str, str] | None = field(default=None, repr=False)
    ca_certs: str | None = None

    def store_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ElasticsearchDocumentStore (and through it, the Elasticsearch client)."""
        from haystack.utils import Secret

        kwargs: dict[str, Any] = {
            "hosts": [self.url],
            "request_timeout": self.timeout,
            "max_retries": CLIENT_MAX_RETRIES,
            "retry_on_timeout": False,
            "retry_on_status": list(RETRY_ON_STATUS),
            # Never fall back to the store's default ELASTIC_API_KEY variables: only what the spec names.
            "api_key": Secret.from_env_var(self.api_key_env) if self.api_key_env else None,
            "api_key_id": None,
        }
        if self.basic_auth is not None:
            kwargs["headers"] = {"authorization": _basic_header(*self.basic_auth)}
        if self.ca_certs is not None:
            kwargs["ca_certs"] = self.ca_certs
        return kwargs

    def client(self) -> Any:
        """A plain `elasticsearch.Elasticsearch` client with the same settings (for checks and benchmarks)."""
        from elasticsearch import Elasticsearch

        kwargs = self.store_kwargs()
        hosts = kwargs.pop("hosts")
        secret = kwargs.pop("api_key")
        kwargs.pop("api_key_id")
        if secret is not None:
            kwargs["api_key"] = secret.resolve_value()
        return Elasticsearch(hosts, **kwargs)


def connect(params: dict, base: Path | None = None) -> Connection:
    """The Connection for an `elasticsearch(...)` call's canonical args. Raises BackendError for a
    missing environment variable or an unusable URL (naming the variable, never its value)."""
    raw_url = _resolve(params.get("url"), "url", secret=False)
    if not raw_url:
        raise BackendError("elasticsearch() has no url", 'write url = env("ES_URL") and export ES_URL')
    parts = urlsplit(raw_url if "://" in raw_url else f"http://{raw_url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        shown = redact_url(raw_url)
        raise BackendError(f"not an Elasticsearch URL: {shown}", "use http(s)://HOST:PORT, e.g. http://localhost:9200")
    clean = redact_url(raw_url if "://" in raw_url else f"http://{raw_url}")
    source = params.get("url")
    display = f"{clean} (from ${source['env']})" if isinstance(source, dict) and "env" in source else clean

    username = _resolve(params.get("username"), "username", secret=False)
    password = _resolve(params.get("password"), "password", secret=True)
    if parts.password is not None and not (isinstance(source, dict) and "env" in source):
        raise BackendError(f"the url {display} has a password written in the spec",
                           'put the whole URL in the environment (url = env("ES_URL")) or use '
                           'username = env(...), password = env(...)')
    if parts.username is not None:  # http://user:pass@host from the environment: moved out of the URL
        username = username or unquote(parts.username)
        password = password or unquote(parts.password or "")
    if bool(username) != bool(password):
        raise BackendError("elasticsearch() has a username without a password (or the reverse)",
                           'give both: username = env("ES_USER"), password = env("ES_PASSWORD")')
    api_key = params.get("api_key")
    api_key_env = api_key["env"] if isinstance(api_key, dict) and api_key.get("env") else None
    if api_key_env is not None:
        _resolve(api_key, "api_key", secret=True)  # fail early, by name, when it is not set
    if api_key_env is not None and username:
        raise BackendError("elasticsearch() has both an API key and basic-auth credentials "
                           "(username/password, or user info in the URL)", "use one of them")
    ca = params.get("ca_certs")
    ca_path = ca.get("file") if isinstance(ca, dict) else ca
    if ca_path is not None:
        path = Path(str(ca_path))
        if not path.is_absolute() and base is not None:
            path = base / path
        if not path.is_file():
            raise BackendError(f"CA bundle {ca_path} not found", "ca_certs is relative to the spec's folder")
        ca_path = str(path)
    timeout = float(params.get("timeout") or 30.0)
    return Connection(url=clean, display=display, timeout=timeout, api_key_env=api_key_env,
                      basic_auth=(username, password) if username else None, ca_certs=ca_path)


def redact_url(url: str) -> str:
    """`url` without user info, query or fragment: safe to print."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port else host
    return urlunsplit(SplitResult(parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def _resolve(value: object, name: str, *, secret: bool) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict) and "env" in value:
        variable = str(value["env"])
        resolved = os.environ.get(variable)
        if not resolved:
            what = "a secret" if secret else "a value"
            raise BackendError(f"environment variable {variable} is not set (elasticsearch {name}: {what})",
                               f"export {variable}=... before running; specs only name the variable")
        return resolved
    if secret:  # the checker refuses literal secrets (E405); never use one that slipped through
        raise BackendError(f"elasticsearch {name} must come from the environment",
                           f'write {name} = env("VARIABLE")')
    return str(value)


def _basic_header(username: str, password: str) -> str:
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return f"Basic {token}"
