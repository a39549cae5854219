"""The outbound guard: reliability.md §2.3 cases S01–S18 and the robust-HTTP cases, with resolution faked."""
import datetime
import gzip
import ipaddress
import socket
import ssl
import threading
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck as HypothesisHealthCheck
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from health import outbound
from health.services import provider_health_probe
from providers.secrets import encrypt_secrets
from providers.services import provider_template_specs_load
from tests.factories import ProviderFactory
from tests.health.fakes import Reply
from tests.health.vendors import GOOD_TOKEN

CLOUD = "runpod"
LOCAL = "comfyui"


class FakeResolver:
    """Stands in for getaddrinfo: numeric forms decode like the C resolver, names come from a table."""

    def __init__(self, table=None):
        self.table = dict(table or {})
        self.calls: list[str] = []

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        self.calls.append(host)
        answer = self.table.get(host)
        if callable(answer):
            answer = answer(len([c for c in self.calls if c == host]))
        if answer is None:
            try:
                answer = [str(ipaddress.ip_address(host))]
            except ValueError:
                try:
                    answer = [socket.inet_ntoa(socket.inet_aton(host))]
                except OSError:
                    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
        if isinstance(answer, Exception):
            raise answer
        infos = []
        for ip in answer:
            if ":" in ip:
                infos.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (ip, port, 0, 0)))
            else:
                infos.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)))
        return infos


@pytest.fixture
def resolver(monkeypatch):
    fake = FakeResolver()
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


@pytest.fixture
def connects(monkeypatch):
    """Every connect attempt is recorded and refused: blocked cases must leave this list empty."""
    attempts = []

    def refuse(sock, address):
        attempts.append(address)
        raise ConnectionRefusedError(111, "refused by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


def request(url: str, service: str = CLOUD, **policy) -> outbound.Response:
    base = outbound.policy_for(service=service)
    client = outbound.Client(outbound.Policy(**{**base.__dict__, **policy}))
    return client.request("GET", url, headers={"Authorization": "Bearer t"})


def blocked(url: str, service: str = CLOUD, **policy) -> bool:
    try:
        request(url, service, **policy)
    except outbound.Blocked:
        return True
    return False


# S01, S02 — metadata endpoints, at save time and at check time, with zero sockets opened.
METADATA_URLS = ["http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/", "http://100.100.100.200/",
                 "http://192.0.0.192/", "http://metadata.google.internal/", "https://169.254.170.2/",
                 "https://metadata/computeMetadata/v1/"]


@pytest.mark.parametrize("url", METADATA_URLS)
@pytest.mark.parametrize("service", [CLOUD, LOCAL])
def test_s01_s02_metadata_endpoints_are_refused_for_every_service(url, service, resolver, connects):
    assert blocked(url, service)
    with pytest.raises(outbound.Blocked):
        outbound.base_url_check(url=url, service=service)
    assert connects == []


def test_s01_metadata_stays_refused_even_when_everything_is_allow_listed(resolver, connects, settings):
    settings.HEALTH_ALLOWED_NETWORKS = ["0.0.0.0/0", "::/0"]
    assert all(blocked(url, LOCAL) for url in METADATA_URLS)
    assert connects == []


def test_s01_check_of_a_metadata_provider_is_recorded_as_blocked(resolver, connects):
    provider = ProviderFactory.build(service=CLOUD, base_url="http://169.254.169.254/latest",
                                     secrets_ciphertext=encrypt_secrets({"api_key": GOOD_TOKEN}))
    result = provider_health_probe(provider=provider)
    assert result.status == "blocked", result
    assert connects == []


# S03 — numeric host forms the resolver turns into 127.0.0.1.
@pytest.mark.parametrize("url", ["http://2130706433/", "http://0x7f000001/", "http://0177.0.0.1/", "http://127.1/",
                                 "https://2130706433/"])
def test_s03_numeric_loopback_forms_are_refused(url, resolver, connects):
    assert blocked(url)
    with pytest.raises(outbound.Blocked):
        outbound.base_url_check(url=url, service=CLOUD)
    assert connects == []


# S04 — IPv4 embedded in IPv6.
@pytest.mark.parametrize("url", ["https://[::ffff:127.0.0.1]/", "https://[::ffff:a9fe:a9fe]/",
                                 "https://[64:ff9b::a9fe:a9fe]/", "https://[2002:a9fe:a9fe::1]/",
                                 "https://[::127.0.0.1]/"])
def test_s04_embedded_ipv4_is_unwrapped_and_refused(url, resolver, connects):
    assert blocked(url)
    if "a9fe" in url:  # embedded metadata stays refused even for the local services
        assert blocked(url, LOCAL)
    assert connects == []


# S05 — one bad record rejects the whole answer.
def test_s05_any_private_record_rejects_the_lookup(resolver, connects):
    resolver.table["api.example.com"] = ["93.184.216.34", "10.0.0.5"]
    assert blocked("https://api.example.com/v1/pods")
    assert connects == []


# S06 — resolution failure fails closed.
def test_s06_dns_failure_is_unreachable_with_no_fallback_request(resolver, connects):
    resolver.table["api.example.com"] = socket.gaierror(socket.EAI_NONAME, "nope")
    with pytest.raises(outbound.Unreachable, match="DNS"):
        request("https://api.example.com/v1/pods")
    assert resolver.calls == ["api.example.com"]
    assert connects == []


# S07 — resolve once, connect to the checked address, keep the Host name.
def test_s07_connection_is_pinned_to_the_first_answer(resolver, fake_server, monkeypatch, settings):
    settings.HEALTH_ALLOWED_NETWORKS = ["93.184.216.34/32"]
    resolver.table["api.example.com"] = lambda nth: ["93.184.216.34"] if nth == 1 else ["127.0.0.1"]
    fake_server.route("GET", "/v1/pods", lambda path, headers, body: Reply(200, b"[]"))
    guarded_connect = socket.socket.connect
    dialled = []

    def redirect_to_fake(sock, address):
        dialled.append(address)
        return guarded_connect(sock, ("127.0.0.1", fake_server.httpd.server_port))

    monkeypatch.setattr(socket.socket, "connect", redirect_to_fake)
    response = request("http://api.example.com/v1/pods")
    assert response.status == 200
    assert resolver.calls == ["api.example.com"]
    assert dialled == [("93.184.216.34", 80)]
    assert fake_server.seen[0].headers["host"] == "api.example.com"


# S08, S09 — redirects are never followed; the second host never sees a credential.
def test_s08_s09_redirect_is_refused_and_credentials_go_nowhere_else(fake_server, loopback_allowed):
    other = type(fake_server)().start()
    try:
        def bounce(path, headers, body):
            return Reply(302, b"", {"Location": other.url + "/steal"})
        fake_server.route("GET", "/v1/pods", bounce)
        client = outbound.Client(outbound.policy_for(service=CLOUD))
        with pytest.raises(outbound.ResponseRefused, match="redirect") as exc:
            client.request("GET", fake_server.url + "/v1/pods",
                           headers={"Authorization": "Bearer t", "X-API-Key": "k", "api-key": "k"})
        assert exc.value.http_status == 302
        assert len(fake_server.seen) == 1
        assert other.seen == []
    finally:
        other.stop()


# S10, S11, S12 — URL shape.
@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "gopher://example.com/", "ftp://example.com/", "dict://example.com:11211/",
    "https://user:pass@api.example.com/", "https://api.example.com@10.0.0.1/",
    "https://api.example.com/%0d%0aX-Injected:1", "https://api.example.com/a\r\nb", "https://api.example.com/\x00",
    "https://api.example.com/a b", "https://api.example.com/#frag", "https://api.example.com/%0A",
])
def test_s10_s11_s12_bad_url_shapes_are_refused_before_resolution(url, resolver, connects):
    assert blocked(url)
    with pytest.raises(outbound.Blocked):
        outbound.base_url_check(url=url, service=CLOUD)
    assert resolver.calls == [] and connects == []


def test_s12_idn_host_is_checked_in_punycode(resolver, connects):
    resolver.table["xn--bcher-kva.example"] = ["10.1.1.1"]
    assert blocked("https://bücher.example/")
    assert resolver.calls == ["xn--bcher-kva.example"]


def test_single_label_hosts_are_refused_for_cloud_services(resolver, connects):
    resolver.table["redis"] = ["93.184.216.34"]
    assert blocked("https://redis/")
    assert resolver.calls == []


# S13 — public hosts only on 443/8443 unless the provider lists the port.
@pytest.mark.parametrize("port", [6379, 5432, 22, 80])
def test_s13_public_host_on_service_ports_is_refused_without_override(port, resolver, connects):
    resolver.table["api.example.com"] = ["93.184.216.34"]
    assert blocked(f"https://api.example.com:{port}/")
    with pytest.raises(outbound.Unreachable):  # allowed by the override: it got as far as connecting
        request(f"https://api.example.com:{port}/", extra_ports=frozenset({port}))
    assert connects == [("93.184.216.34", port)]


def test_plain_http_to_a_public_host_is_refused(resolver, connects):
    resolver.table["api.example.com"] = ["93.184.216.34"]
    assert blocked("http://api.example.com/")
    assert connects == []


# S14 — the operator allow-list is exact and additive.
def test_s14_allow_list_opens_exactly_the_listed_address(resolver, connects, settings):
    settings.HEALTH_ALLOWED_NETWORKS = ["192.168.1.50/32"]
    with pytest.raises(outbound.Unreachable):
        request("http://192.168.1.50:8001/health")
    assert connects == [("192.168.1.50", 8001)]
    for url in ("http://192.168.1.51/", "http://10.0.0.1/", "http://169.254.169.254/"):
        assert blocked(url), url
    assert len(connects) == 1


# S15 — what an import carries cannot widen the policy.
def test_s15_private_base_url_for_a_cloud_service_is_rejected_at_import(settings):
    settings.HEALTH_ALLOWED_NETWORKS = ["192.168.1.50/32"]
    with pytest.raises(outbound.Blocked):
        outbound.base_url_check(url="http://192.168.1.60/", service=CLOUD)
    outbound.base_url_check(url="http://192.168.1.50/", service=CLOUD)
    outbound.base_url_check(url="http://192.168.1.60:8001/", service="lan")  # private is the LAN service's home


def test_s15_provider_meta_cannot_widen_the_allow_list(resolver, connects):
    provider = ProviderFactory.build(service=CLOUD, base_url="http://10.0.0.7/v1",
                                     meta={"health": {"allowed_networks": ["10.0.0.0/8"], "allowed_ports": [80]}},
                                     secrets_ciphertext=encrypt_secrets({"api_key": GOOD_TOKEN}))
    assert provider_health_probe(provider=provider).status == "blocked"
    assert connects == []


# S17 — property test over the deny-list.
@pytest.mark.parametrize("network", [str(n) for n in outbound.DENIED_NETWORKS])
@hypothesis_settings(max_examples=25, deadline=None,
                     suppress_health_check=[HypothesisHealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_s17_every_denied_address_is_refused(network, data):
    ip = data.draw(st.ip_addresses(network=network))
    with pytest.raises(outbound.Blocked):
        outbound.address_trust(ip, outbound.Policy())


@hypothesis_settings(max_examples=200, deadline=None)
@given(ip=st.ip_addresses(v=4))
def test_s17_public_addresses_are_accepted(ip):
    public = not any(ip in net for net in outbound.DENIED_NETWORKS) and ip not in outbound._own_addresses()
    if public:
        assert outbound.address_trust(ip, outbound.Policy()) is False


# S18 — proxies from the environment are ignored.
def test_s18_environment_proxy_is_ignored(fake_server, loopback_allowed, monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    fake_server.route("GET", "/v1/pods", lambda path, headers, body: Reply(200, b"[]"))
    assert request(fake_server.url + "/v1/pods").status == 200
    assert fake_server.seen[0].path == "/v1/pods"  # origin-form: it went direct, not through a proxy


# Robust HTTP: H01 silent server, H02 one byte per second, H05/H06 size cap on decoded bytes.
def test_h01_silent_server_times_out_after_the_read_timeout(fake_server, loopback_allowed):
    fake_server.modes["/slow"] = "hang"
    started = time.monotonic()
    with pytest.raises(outbound.Timeout):
        request(fake_server.url + "/slow", read_timeout=0.5, deadline=5)
    assert time.monotonic() - started < 1.5


def test_h02_one_byte_a_second_is_cut_at_the_total_deadline(fake_server, loopback_allowed, monkeypatch):
    monkeypatch.setattr("tests.health.fakes.DRIP_INTERVAL", 1.0)
    fake_server.modes["/drip"] = "drip"
    started = time.monotonic()
    with pytest.raises(outbound.Timeout, match="total deadline"):
        request(fake_server.url + "/drip", read_timeout=2, deadline=3)
    assert time.monotonic() - started < 3.5


def test_h06_gzip_bomb_is_stopped_at_the_decoded_cap(fake_server, loopback_allowed):
    bomb = gzip.compress(b"0" * (20 * 1024 * 1024))
    fake_server.route("GET", "/bomb", lambda path, headers, body: Reply(200, bomb, {"Content-Encoding": "gzip"}))
    assert len(bomb) < 1024 * 1024
    with pytest.raises(outbound.ResponseRefused, match="cap"):
        request(fake_server.url + "/bomb")


def test_h03_html_from_a_gateway_is_not_healthy(fake_server, loopback_allowed):
    fake_server.route("GET", "/v1/pods", lambda path, headers, body: Reply(200, b"<html>Bad Gateway</html>",
                                                                        {"Content-Type": "text/html"}))
    provider = ProviderFactory.build(service=CLOUD, base_url=fake_server.url + "/v1",
                                     secrets_ciphertext=encrypt_secrets({"api_key": GOOD_TOKEN}))
    result = provider_health_probe(provider=provider)
    assert result.status == "error" and result.http_status == 200, result


def test_connection_refused_is_unreachable(loopback_allowed):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(outbound.Unreachable, match="refused"):
        request(f"http://127.0.0.1:{port}/")


def _self_signed(tmp_path, name: str) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def test_h10_tls_keeps_the_host_name_for_sni_and_verifies_the_certificate(tmp_path, resolver, settings):
    settings.HEALTH_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    resolver.table["api.example.com"] = ["127.0.0.1"]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*_self_signed(tmp_path, "api.example.com"))
    server_names = []
    context.sni_callback = lambda sock, name, ctx: server_names.append(name)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve():
        conn, _ = listener.accept()
        try:
            context.wrap_socket(conn, server_side=True).close()
        except (ssl.SSLError, OSError):
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with pytest.raises(outbound.OutboundError, match="TLS") as exc:
            request(f"https://api.example.com:{listener.getsockname()[1]}/v1/pods")
        assert exc.value.status == "error"
        thread.join(2)
        assert server_names == ["api.example.com"]  # SNI is the name, while the socket went to the pinned IP
        assert resolver.calls == ["api.example.com"]
    finally:
        listener.close()


def test_every_curated_template_base_url_passes_the_save_time_check():
    templates = provider_template_specs_load()
    assert len(templates) == 12
    for template in templates:
        outbound.base_url_check(url=template["base_url"], service=template["service"])


@pytest.mark.parametrize("url", ["ssh://169.254.169.254", "ssh://metadata.google.internal:22", "http://gpu-host",
                                 "ssh://root:pw@gpu-host", "ssh://gpu-host/%0a"])
def test_ssh_base_urls_are_checked_too(url):
    with pytest.raises(outbound.Blocked):
        outbound.base_url_check(url=url, service="ssh")
