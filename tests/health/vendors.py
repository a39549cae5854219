"""Fake vendor APIs for the adapter tests: each checks credentials the way the vendor does."""
import json
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import google.auth.jwt
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.health.fakes import Reply

GOOD_TOKEN = "good-token-7f3a9c2e51"
BAD_TOKEN = "wrong-token-0b8d44e6aa"
AWS_ACCESS_KEY = "AKIAFAKEHEALTHTEST01"
AWS_SECRET_KEY = "aws-secret-key-for-the-fake-sts-0123456789"
AZURE_SECRET = "azure-client-secret-9f8e7d6c"
AZURE_ACCESS_TOKEN = "azure-access-token-123456"
GCP_ACCESS_TOKEN = "ya29.fake-access-token-abcdef"


@dataclass
class Spec:
    """One service: its config, good and wrong credentials, the path that failure modes apply to, and routes."""

    service: str
    prefix: str
    path: str
    good: dict
    bad: dict
    install: callable
    config: dict = field(default_factory=dict)
    overrides: dict = field(default_factory=dict)  # provider.meta["health"], with {url} filled in


def bearer_route(method: str, path: str, ok_body: bytes, token: str | None = GOOD_TOKEN):
    """A GET/POST route answering ok_body to `Bearer <token>` (or to anyone when token is None), else 401."""
    def install(server):
        def handle(raw_path, headers, body):
            if token is not None and headers.get("authorization") != f"Bearer {token}":
                return Reply(401, b'{"error": "unauthorized"}')
            return Reply(200, ok_body)
        server.route(method, path, handle)
    return install


def _aws_install(server):
    pattern = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([a-z0-9-]+)/sts/aws4_request, "
                         r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})")

    def handle(raw_path, headers, body):
        match = pattern.fullmatch(headers.get("authorization", ""))
        denied = Reply(403, b"<ErrorResponse><Error><Code>InvalidClientTokenId</Code></Error></ErrorResponse>",
                       {"Content-Type": "text/xml"})
        if not match or match[1] != AWS_ACCESS_KEY or body != b"Action=GetCallerIdentity&Version=2011-06-15":
            return denied
        request = AWSRequest(method="POST", url=server.url + raw_path, data=body,
                             headers={name: headers[name] for name in match[4].split(";")})
        request.context["timestamp"] = headers["x-amz-date"]
        signer = SigV4Auth(Credentials(AWS_ACCESS_KEY, AWS_SECRET_KEY), "sts", match[3])
        expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
        if expected != match[5]:
            return denied
        return Reply(200, b"<GetCallerIdentityResponse><GetCallerIdentityResult><Account>123456789012</Account>"
                          b"</GetCallerIdentityResult></GetCallerIdentityResponse>", {"Content-Type": "text/xml"})
    server.route("POST", "/", handle)


def _azure_install(server):
    def token(raw_path, headers, body):
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if form.get("grant_type") != "client_credentials" or form.get("client_id") != "client-1" \
                or form.get("scope") != "https://management.azure.com/.default":
            return Reply(400, b'{"error": "invalid_request"}')
        if form.get("client_secret") != AZURE_SECRET:
            return Reply(401, b'{"error": "invalid_client"}')
        return Reply(200, json.dumps({"access_token": AZURE_ACCESS_TOKEN, "token_type": "Bearer",
                                      "expires_in": 3599}).encode())
    server.route("POST", "/tenant-1/oauth2/v2.0/token", token)

    def subscription(raw_path, headers, body):
        if "api-version=2022-12-01" not in raw_path or headers.get("authorization") != f"Bearer {AZURE_ACCESS_TOKEN}":
            return Reply(401, b'{"error": {"code": "InvalidAuthenticationToken"}}')
        return Reply(200, b'{"subscriptionId": "sub-1", "state": "Enabled"}')
    server.route("GET", "/subscriptions/sub-1", subscription)


def _rsa_pem() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


GCP_PRIVATE, GCP_PUBLIC = _rsa_pem()
GCP_OTHER_PRIVATE, _ = _rsa_pem()


def gcp_key_file(private_pem: str, token_uri: str = "https://oauth2.googleapis.com/token") -> str:
    return json.dumps({"type": "service_account", "project_id": "proj-1", "private_key_id": "k1",
                       "private_key": private_pem, "client_email": "checker@proj-1.iam.gserviceaccount.com",
                       "client_id": "1234567890", "token_uri": token_uri})


def _gcp_install(server):
    def token(raw_path, headers, body):
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        try:
            # google-auth always addresses the assertion to Google's token endpoint, whatever token_uri says.
            claims = google.auth.jwt.decode(form.get("assertion", ""), certs=GCP_PUBLIC,
                                            audience="https://oauth2.googleapis.com/token")
        except ValueError:
            return Reply(400, b'{"error": "invalid_grant", "error_description": "Invalid JWT Signature."}')
        if claims.get("scope") != "https://www.googleapis.com/auth/compute.readonly":
            return Reply(400, b'{"error": "invalid_scope"}')
        return Reply(200, json.dumps({"access_token": GCP_ACCESS_TOKEN, "expires_in": 3599,
                                      "token_type": "Bearer"}).encode())
    server.route("POST", "/token", token)
    bearer_route("GET", "/compute/v1/projects/proj-1", b'{"id": "42", "name": "proj-1"}', GCP_ACCESS_TOKEN)(server)


SPECS = {spec.service: spec for spec in [
    Spec("comfyui", "", "/system_stats", {"api_token": GOOD_TOKEN}, {"api_token": BAD_TOKEN},
         bearer_route("GET", "/system_stats", b'{"system": {"os": "posix"}, "devices": []}')),
    Spec("llm_local", "", "/health", {}, {}, bearer_route("GET", "/health", b'{"status": "ok"}', token=None)),
    Spec("runpod", "/v1", "/v1/pods", {"api_key": GOOD_TOKEN}, {"api_key": BAD_TOKEN},
         bearer_route("GET", "/v1/pods", b"[]")),
    Spec("vast.ai", "/api/v0", "/api/v0/users/current/", {"api_key": GOOD_TOKEN}, {"api_key": BAD_TOKEN},
         bearer_route("GET", "/api/v0/users/current/", b'{"id": 1, "credit": 3.5}')),
    Spec("lambda", "/api/v1", "/api/v1/instance-types", {"api_key": GOOD_TOKEN}, {"api_key": BAD_TOKEN},
         bearer_route("GET", "/api/v1/instance-types", b'{"data": {}}')),
    Spec("coreweave", "", "/v1beta1/cks/clusters", {"api_key": GOOD_TOKEN}, {"api_key": BAD_TOKEN},
         bearer_route("GET", "/v1beta1/cks/clusters", b'{"items": []}'), config={"organization_id": "ab1cd2"}),
    Spec("paperspace", "/v1", "/v1/projects", {"api_key": GOOD_TOKEN}, {"api_key": BAD_TOKEN},
         bearer_route("GET", "/v1/projects", b'{"hasMore": false, "items": []}')),
    Spec("lan", "", "/health", {"api_token": GOOD_TOKEN}, {"api_token": BAD_TOKEN},
         bearer_route("GET", "/health", b'{"status": "ok"}')),
    Spec("aws", "", "/", {"access_key": AWS_ACCESS_KEY, "secret_key": AWS_SECRET_KEY},
         {"access_key": AWS_ACCESS_KEY, "secret_key": "not-the-right-aws-secret-key-000"}, _aws_install,
         config={"region": "eu-west-1"}, overrides={"sts_url": "{url}/"}),
    Spec("azure", "", "/subscriptions/sub-1", {"client_secret": AZURE_SECRET},
         {"client_secret": "not-the-azure-secret-1234"}, _azure_install,
         config={"tenant_id": "tenant-1", "client_id": "client-1", "subscription_id": "sub-1"},
         overrides={"token_url": "{url}"}),
    Spec("gcp", "", "/compute/v1/projects/proj-1", {"service_account_json": "{key:good}"},
         {"service_account_json": "{key:other}"}, _gcp_install, config={"project_id": "proj-1"},
         overrides={"token_url": "{url}/token"}),
]}
HTTP_SERVICES = sorted(SPECS)
CREDENTIALED_SERVICES = sorted(name for name, spec in SPECS.items() if spec.good)


def materialise(secrets: dict, url: str) -> dict:
    """Fill the GCP key-file markers (their token_uri must name the running fake)."""
    keys = {"{key:good}": GCP_PRIVATE, "{key:other}": GCP_OTHER_PRIVATE}
    return {name: gcp_key_file(keys[value], url + "/token") if isinstance(value, str) and value in keys else value
            for name, value in secrets.items()}

