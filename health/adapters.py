"""Health-check adapters: one per provider service, each the vendor's cheapest authenticated read-only call.

Every adapter reaches the network only through health.outbound (SSRF guard, deadline, size cap, no redirects)
and returns a CheckResult; its base URL comes from the provider (the vendor host is the template default), and
token endpoints can be moved with provider.meta["health"] (`token_url`, `sts_url`) so tests point them at fakes.
`detail` is a fixed, short phrase: never a response body, never a credential.
"""
import base64
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

import google.auth.exceptions
import google.auth.transport
import paramiko
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from django.conf import settings
from google.oauth2 import service_account

from health import outbound
from health.models import HealthStatus

_SSH_BANNER_MAX = 255  # RFC 4253 §4.2: the identification line is at most 255 characters.


@dataclass(frozen=True)
class CheckResult:
    status: str
    detail: str = ""
    http_status: int | None = None
    latency_ms: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == HealthStatus.OK


@dataclass(frozen=True)
class ProviderTarget:
    """What an adapter needs from a provider: plain data, credentials already resolved."""

    provider_id: str
    service: str
    base_url: str
    config: dict = field(default_factory=dict)
    secrets: dict = field(default_factory=dict)
    overrides: dict = field(default_factory=dict)


class CheckFailed(Exception):
    """Raised inside an adapter to end the check with a classified result."""

    def __init__(self, status: str, detail: str, http_status: int | None = None):
        super().__init__(detail)
        self.result = CheckResult(status=status, detail=detail, http_status=http_status)


# Values people paste while setting up: they must never count as credentials (and never reach a vendor).
_PLACEHOLDER = re.compile(
    r'^(x+|\*+|\.+|-+|0+|changeme|change[-_ ]?me|replace[-_ ]?me|your[-_ ].*|<[^<>"]*>|\$?\{[^{}"]*\}|\[[^\]"]*\]|'
    r"placeholder|todo|tbd|none|null|test|dummy|example|fake|sample|secret|token|password|api[-_ ]?key)$",
    re.IGNORECASE,
)


def is_placeholder(value: str) -> bool:
    value = value.strip()
    return len(value) < 8 or bool(_PLACEHOLDER.match(value))


def credential(target: ProviderTarget, name: str) -> str:
    """A configured, non-placeholder credential, or CheckFailed(no_credentials)."""
    value = target.secrets.get(name)
    if not isinstance(value, str) or not value.strip():
        raise CheckFailed(HealthStatus.NO_CREDENTIALS, f"credential '{name}' is not configured")
    if is_placeholder(value):
        raise CheckFailed(HealthStatus.NO_CREDENTIALS, f"credential '{name}' is a placeholder")
    return value.strip()


def setting(target: ProviderTarget, name: str) -> str:
    value = target.config.get(name)
    if not isinstance(value, str) or not value.strip():
        raise CheckFailed(HealthStatus.MISCONFIGURED, f"setting '{name}' is not configured")
    return value.strip()


def _url(base: str, path: str) -> str:
    return base.rstrip("/") + path


def _json_object(resp: outbound.Response) -> bool:
    return isinstance(resp.json(), dict)


def _json_list(resp: outbound.Response) -> bool:
    return isinstance(resp.json(), list)


def classify(resp: outbound.Response, *, what: str, valid: Callable[[outbound.Response], bool] = _json_object,
             ) -> CheckResult:
    """Map a vendor answer to the taxonomy; 2xx counts only with the shape the vendor documents."""
    status = resp.status
    if status in (401, 403):
        return CheckResult(HealthStatus.AUTH_FAILED, f"credentials rejected (HTTP {status})", status)
    if status == 404:
        return CheckResult(HealthStatus.MISCONFIGURED, "endpoint not found (HTTP 404): check the base URL", status)
    if status == 429:
        return CheckResult(HealthStatus.ERROR, "rate limited (HTTP 429)", status)
    if status >= 500:
        return CheckResult(HealthStatus.ERROR, f"server error (HTTP {status})", status)
    if not 200 <= status < 300:
        return CheckResult(HealthStatus.ERROR, f"unexpected HTTP {status}", status)
    if not valid(resp):
        return CheckResult(HealthStatus.ERROR, "answer is not what the API documents", status)
    return CheckResult(HealthStatus.OK, what, status)


def bearer_get(http: outbound.Client, url: str, token: str | None, *, what: str, valid=_json_object) -> CheckResult:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return classify(http.request("GET", url, headers=headers), what=what, valid=valid)


def check_comfyui(target: ProviderTarget, http: outbound.Client) -> CheckResult:
    """ComfyUI `GET /system_stats` (server routes: https://docs.comfy.org/development/comfyui-server/comms_routes).

    No auth by default; a bearer token is sent when ComfyUI sits behind an authenticating proxy.
    """
    token = credential(target, "api_token") if "api_token" in target.secrets else None
    return bearer_get(http, _url(target.base_url, "/system_stats"), token, what="ComfyUI system stats read",
                      valid=lambda resp: _json_object(resp) and "system" in resp.json())


def check_llm_local(target: ProviderTarget, http: outbound.Client) -> CheckResult:
    """llama.cpp server `GET /health`: 200 {"status": "ok"} when ready, 503 while the model loads.

    https://github.com/ggml-org/llama.cpp/blob/master/tools/server/README.md (API endpoints, GET /health)
    """
    return bearer_get(http, _url(target.base_url, "/health"), None, what="local LLM server ready",
                      valid=lambda resp: _json_object(resp) and resp.json().get("status") == "ok")


def check_runpod(target: ProviderTarget, http: outbound.Client) -> CheckResult:
    """RunPod REST `GET /pods` with `Authorization: Bearer <API key>` on https://rest.runpod.io/v1.

    https://docs.runpod.io/api-reference/pods/GET/pods
    """
    token = credential(target, "api_key")
    return bearer_get(http, _url(target.base_url, "/pods"), token, what="RunPod pods listed", valid=_json_list)


def check_vast(target: ProviderTarget, http: outbound.Client) -> CheckResult:
    """Vast.ai `GET /users/current/` with `Authorization: Bearer <API key>` on https://console.vast.ai/api/v0.

    https://docs.vast.ai/api (Authentication: "All endpoints require Authorization: Bearer"; show user)
    """
    token = credential(target, "api_key")
    return bearer_get(http, _url(target.base_url, "/users/current/"), token, what="Vast.ai account read")


def check_lambda(target: ProviderTarget, http: outbound.Client) -> CheckResult:
    """Lambda Cloud `GET /instance-types` with `Authorization: Bearer <API key>` on .../api/v1.

    https://docs.lambda.ai/api/cloud#listInstanceTypes
    """
    token = credential(target, "api_key")
    return bearer_get(http, _url(target.base_url, "/instance-types"), token, what="Lambda instance types listed")


def check_coreweave(target: ProviderTarget, http: outbound.Client) -> CheckResult:
    """CoreWeave CKS API `GET /v1beta1/cks/clusters` with `Authorization: Bearer <API access token>`.

    https://docs.coreweave.com/products/cks/reference/cks-api/clusterservice/list-clusters
    Tokens are scoped to one organization, so the configured organization id is required but not sent.
    """
    token = credential(target, "api_key")
    setting(target, "organization_id")
    return bearer_get(http, _url(target.base_url, "/v1beta1/cks/clusters"), token, what="CoreWeave clusters listed")


def check_paperspace(target: ProviderTarget, http: outbound.Client) -> CheckResult:
    """Paperspace `GET /projects/{id}` (or `GET /projects?limit=1`) with `Authorization: Bearer <API key>`.

    https://docs.digitalocean.com/reference/paperspace/api-reference/projects (base https://api.paperspace.com/v1)
    """
    token = credential(target, "api_key")
    project = (target.config.get("project") or "").strip()
    path = f"/projects/{quote(project, safe='')}" if project else "/projects?limit=1"
    return bearer_get(http, _url(target.base_url, path), token, what="Paperspace project read")


def check_lan(target: ProviderTarget, http: outbound.Client) -> CheckResult:
    """unRAID/LAN node agent `GET /health` with `Authorization: Bearer <api_token>` at the configured endpoint.

    The agent is the operator's own service on the node (https://docs.unraid.net/ documents no such API);
    its contract here is: 2xx JSON object when the token is accepted, 401/403 when it is not.
    """
    token = credential(target, "api_token")
    endpoint = (target.config.get("endpoint") or target.base_url or "").strip()
    return bearer_get(http, _url(endpoint, "/health"), token, what="LAN node agent answered")


def check_aws(target: ProviderTarget, http: outbound.Client) -> CheckResult:
    """AWS STS `GetCallerIdentity`, SigV4-signed by botocore (no permissions needed, never denied by IAM).

    https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
    Endpoint: https://sts.<region>.amazonaws.com/ (override with meta.health.sts_url).
    """
    access_key = credential(target, "access_key")
    secret_key = credential(target, "secret_key")
    region = setting(target, "region")
    url = target.overrides.get("sts_url") or f"https://sts.{region}.amazonaws.com/"
    body = "Action=GetCallerIdentity&Version=2011-06-15"
    request = AWSRequest(method="POST", url=url, data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(access_key, secret_key), "sts", region).add_auth(request)
    resp = http.request("POST", url, headers={**dict(request.headers.items()), "Accept": "text/xml"}, body=body)
    return classify(resp, what="AWS caller identity read", valid=lambda r: b"<GetCallerIdentityResult>" in r.body)


def check_azure(target: ProviderTarget, http: outbound.Client) -> CheckResult:
    """Azure: client-credentials token from Microsoft Entra, then `GET /subscriptions/{id}?api-version=2022-12-01`.

    https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow
    https://learn.microsoft.com/rest/api/resources/subscriptions/get
    Authority: https://login.microsoftonline.com (override with meta.health.token_url).
    """
    secret = credential(target, "client_secret")
    tenant, client_id, subscription = (setting(target, n) for n in ("tenant_id", "client_id", "subscription_id"))
    authority = (target.overrides.get("token_url") or "https://login.microsoftonline.com").rstrip("/")
    form = (f"grant_type=client_credentials&client_id={quote(client_id, safe='')}"
            f"&client_secret={quote(secret, safe='')}&scope={quote('https://management.azure.com/.default')}")
    resp = http.request("POST", f"{authority}/{quote(tenant, safe='')}/oauth2/v2.0/token", body=form,
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    payload = resp.json() if isinstance(resp.json(), dict) else {}
    if resp.status in (400, 401) and payload.get("error") in ("invalid_client", "unauthorized_client"):
        raise CheckFailed(HealthStatus.AUTH_FAILED, f"client credentials rejected (HTTP {resp.status})", resp.status)
    if resp.status == 400:
        raise CheckFailed(HealthStatus.MISCONFIGURED, "token request refused: check tenant and client id", 400)
    token_result = classify(resp, what="token issued")
    if not token_result.ok:
        return token_result
    token = payload.get("access_token")
    if not isinstance(token, str) or not token:
        return CheckResult(HealthStatus.ERROR, "token response has no access token", resp.status)
    url = _url(target.base_url, f"/subscriptions/{quote(subscription, safe='')}?api-version=2022-12-01")
    return bearer_get(http, url, token, what="Azure subscription read")


class _GoogleTransport(google.auth.transport.Request):
    """google-auth's transport interface, served by our outbound client (so the token call is guarded too)."""

    def __init__(self, http: outbound.Client):
        self.http = http

    def __call__(self, url, method="GET", body=None, headers=None, timeout=None, **kwargs):
        resp = self.http.request(method, url, headers=headers, body=body)
        if resp.status >= 500 or resp.status == 429:
            # google-auth would retry with sleeps the deadline watchdog cannot interrupt: one answer decides.
            raise CheckFailed(HealthStatus.ERROR, f"token endpoint error (HTTP {resp.status})", resp.status)
        return _GoogleResponse(resp)


class _GoogleResponse(google.auth.transport.Response):
    def __init__(self, resp: outbound.Response):
        self._resp = resp

    @property
    def status(self):
        return self._resp.status

    @property
    def headers(self):
        return self._resp.headers

    @property
    def data(self):
        return self._resp.body


def check_gcp(target: ProviderTarget, http: outbound.Client) -> CheckResult:
    """Google Cloud: service-account JWT → OAuth2 token (google-auth), then Compute `projects.get`.

    https://developers.google.com/identity/protocols/oauth2/service-account#httprest
    https://cloud.google.com/compute/docs/reference/rest/v1/projects/get (scope compute.readonly)
    The token endpoint is the key file's token_uri (override with meta.health.token_url).
    """
    raw = credential(target, "service_account_json")
    project = setting(target, "project_id")
    try:
        info = json.loads(raw)
        if target.overrides.get("token_url"):
            info["token_uri"] = target.overrides["token_url"]
        creds = service_account.Credentials.from_service_account_info(
            info, scopes=["https://www.googleapis.com/auth/compute.readonly"])
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckFailed(HealthStatus.MISCONFIGURED, "service account key is not a valid key file") from exc
    try:
        creds.refresh(_GoogleTransport(http))
    except google.auth.exceptions.RefreshError as exc:
        raise CheckFailed(HealthStatus.AUTH_FAILED, "service account token refused") from exc
    except google.auth.exceptions.TransportError as exc:
        raise CheckFailed(HealthStatus.UNREACHABLE, "token endpoint unreachable") from exc
    url = _url(target.base_url, f"/compute/v1/projects/{quote(project, safe='')}?fields=id,name")
    return bearer_get(http, url, creds.token, what="Google Cloud project read")


def check_ssh(target: ProviderTarget, http: outbound.Client) -> CheckResult:
    """On-prem SSH: TCP connect and SSH identification banner (RFC 4253 §4.2); with a key, key authentication.

    https://www.openssh.com/manual.html — host keys are checked strictly (HEALTH_SSH_KNOWN_HOSTS or
    meta.health.host_key): an unknown or changed key fails before any credential is offered.
    Without a key the host can be reached but the credentials cannot be verified: no_credentials, never ok.
    """
    parsed = urlsplit(target.base_url) if target.base_url.startswith("ssh://") else None
    host = (target.config.get("hostname") or (parsed.hostname if parsed else "") or "").strip()
    port = int(target.config.get("port") or (parsed.port if parsed else None) or 22)
    username = (target.config.get("username") or "").strip()
    if not host or not username:
        raise CheckFailed(HealthStatus.MISCONFIGURED, "SSH hostname and username must be configured")
    addresses, _trusted = outbound.resolve(host, port, http.policy)
    with http.guard():
        sock = http.open_socket(addresses, min(http.policy.connect_timeout, http.remaining))
        try:
            banner = _read_banner(sock, http)
        finally:
            sock.close()
    pkey = _private_key(target)
    if pkey is None:
        return CheckResult(HealthStatus.NO_CREDENTIALS, f"SSH reachable ({banner[:60]}); no key configured")
    with http.guard():
        sock = http.open_socket(addresses, min(http.policy.connect_timeout, http.remaining))
        transport = paramiko.Transport(sock)
        try:
            transport.start_client(timeout=max(http.remaining, 0.001))
            if not _host_key_trusted(transport.get_remote_server_key(), host, port, target):
                return CheckResult(HealthStatus.AUTH_FAILED,
                                   "host key unknown or changed (host_key_mismatch); no credentials sent")
            try:
                transport.auth_publickey(username, pkey)
            except paramiko.AuthenticationException:
                return CheckResult(HealthStatus.AUTH_FAILED, "SSH key rejected")
            if not transport.is_authenticated():
                return CheckResult(HealthStatus.AUTH_FAILED, "SSH key rejected")
            return CheckResult(HealthStatus.OK, "SSH key authentication succeeded")
        except paramiko.SSHException as exc:
            if http.expired:
                raise outbound.Timeout("total deadline exceeded") from exc
            raise CheckFailed(HealthStatus.ERROR, "SSH handshake failed") from exc
        finally:
            transport.close()


def _read_banner(sock, http: outbound.Client) -> str:
    data = b""
    while not data.endswith(b"\n"):
        sock.settimeout(min(http.policy.read_timeout, max(http.remaining, 0.001)))
        try:
            chunk = sock.recv(1)
        except OSError as exc:
            raise outbound.Timeout("total deadline exceeded" if http.expired else "no SSH banner") from exc
        if not chunk:
            if http.expired:
                raise outbound.Timeout("total deadline exceeded")
            raise outbound.Unreachable("connection closed before the SSH banner")
        data += chunk
        if len(data) > _SSH_BANNER_MAX:
            break
    line = data.decode("ascii", "replace").strip()
    if not line.startswith("SSH-"):
        raise CheckFailed(HealthStatus.ERROR, "the service on this port is not SSH")
    return "".join(ch for ch in line if ch.isprintable())


def _private_key(target: ProviderTarget) -> paramiko.PKey | None:
    text = target.secrets.get("ssh_private_key")
    path = (target.config.get("ssh_key_path") or "").strip()
    if not text and not path:
        return None
    for key_class in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            if text:
                return key_class.from_private_key(io.StringIO(text))
            return key_class.from_private_key_file(path)
        except (paramiko.SSHException, ValueError):
            continue
        except OSError as exc:
            raise CheckFailed(HealthStatus.MISCONFIGURED, "SSH key file cannot be read") from exc
    raise CheckFailed(HealthStatus.MISCONFIGURED, "SSH private key cannot be parsed")


def _host_key_trusted(server_key: paramiko.PKey, host: str, port: int, target: ProviderTarget) -> bool:
    known = paramiko.HostKeys()
    if settings.HEALTH_SSH_KNOWN_HOSTS:
        try:
            known.load(settings.HEALTH_SSH_KNOWN_HOSTS)
        except OSError:
            pass
    name = host if port == 22 else f"[{host}]:{port}"
    pinned = (target.overrides.get("host_key") or "").split()
    if len(pinned) >= 2:
        try:
            known.add(name, pinned[0], paramiko.PKey.from_type_string(pinned[0], base64.b64decode(pinned[1])))
        except (paramiko.SSHException, ValueError):
            pass
    expected = known.lookup(name)
    return bool(expected) and server_key.get_name() in expected and expected[server_key.get_name()] == server_key


ADAPTERS: dict[str, Callable[[ProviderTarget, outbound.Client], CheckResult]] = {
    "comfyui": check_comfyui,
    "llm_local": check_llm_local,
    "runpod": check_runpod,
    "vast.ai": check_vast,
    "lambda": check_lambda,
    "aws": check_aws,
    "azure": check_azure,
    "coreweave": check_coreweave,
    "gcp": check_gcp,
    "paperspace": check_paperspace,
    "lan": check_lan,
    "ssh": check_ssh,
}
