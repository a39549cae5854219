"""The on-prem SSH adapter against a paramiko SSH server on 127.0.0.1 (reliability.md S19 and the issue's matrix)."""
import io
import socket
import threading
import time

import paramiko
import pytest

from health.services import provider_health_probe
from providers.secrets import encrypt_secrets
from tests.factories import ProviderFactory

HOST_KEY = paramiko.RSAKey.generate(2048)
CLIENT_KEY = paramiko.RSAKey.generate(2048)
OTHER_KEY = paramiko.RSAKey.generate(2048)


def private_text(key: paramiko.PKey) -> str:
    out = io.StringIO()
    key.write_private_key(out)
    return out.getvalue()


class FakeSshServer:
    """Accepts connections on 127.0.0.1; mode "ssh" speaks SSH (one authorised key), "hang" never sends a
    banner, "drip" sends the banner one byte at a time."""

    def __init__(self, mode: str = "ssh"):
        self.mode = mode
        self.auth_attempts: list[str] = []
        self.stopping = threading.Event()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        server = self
        try:
            if self.mode == "hang":
                self.stopping.wait(30)
            elif self.mode == "drip":
                for byte in b"SSH-2.0-OpenSSH_9.6\r\n":
                    if self.stopping.wait(0.3):
                        break
                    conn.sendall(bytes([byte]))
            else:
                class Interface(paramiko.ServerInterface):
                    def get_allowed_auths(self, username):
                        return "publickey"

                    def check_auth_publickey(self, username, key):
                        server.auth_attempts.append(username)
                        if username == "gpu" and key == CLIENT_KEY:
                            return paramiko.AUTH_SUCCESSFUL
                        return paramiko.AUTH_FAILED

                transport = paramiko.Transport(conn)
                transport.add_server_key(HOST_KEY)
                transport.start_server(server=Interface())
                self.stopping.wait(5)
                transport.close()
        except (OSError, paramiko.SSHException, EOFError):
            pass
        finally:
            conn.close()

    def stop(self):
        self.stopping.set()
        self.thread.join(2)
        self.listener.close()


@pytest.fixture
def ssh_server(request):
    server = FakeSshServer(getattr(request, "param", "ssh"))
    yield server
    server.stop()


@pytest.fixture
def short_deadline(settings):
    settings.HEALTH_CONNECT_TIMEOUT = 1.0
    settings.HEALTH_READ_TIMEOUT = 1.0
    settings.HEALTH_DEADLINE = 1.5
    return settings


def ssh_provider(server, *, key: paramiko.PKey | None = CLIENT_KEY, trust_host: bool = True):
    overrides = {"host_key": f"{HOST_KEY.get_name()} {HOST_KEY.get_base64()}"} if trust_host else {}
    secrets = {"ssh_private_key": private_text(key)} if key else {}
    return ProviderFactory.build(service="ssh", base_url=f"ssh://127.0.0.1:{server.port}",
                                 config={"hostname": "127.0.0.1", "username": "gpu", "port": server.port},
                                 secrets_ciphertext=encrypt_secrets(secrets), meta={"health": overrides})


def test_key_authentication_with_a_known_host_key_is_ok(ssh_server, short_deadline):
    result = provider_health_probe(provider=ssh_provider(ssh_server))
    assert result.status == "ok", result
    assert ssh_server.auth_attempts == ["gpu"]


def test_wrong_key_gives_auth_failed(ssh_server, short_deadline):
    result = provider_health_probe(provider=ssh_provider(ssh_server, key=OTHER_KEY))
    assert result.status == "auth_failed" and "key rejected" in result.detail, result


def test_s19_unknown_host_key_fails_before_any_credential_is_offered(ssh_server, short_deadline):
    result = provider_health_probe(provider=ssh_provider(ssh_server, trust_host=False))
    assert result.status == "auth_failed" and "host_key_mismatch" in result.detail, result
    assert ssh_server.auth_attempts == []


def test_banner_without_a_key_is_reachable_but_never_ok(ssh_server, short_deadline):
    result = provider_health_probe(provider=ssh_provider(ssh_server, key=None))
    assert result.status == "no_credentials" and "SSH reachable" in result.detail, result
    assert ssh_server.auth_attempts == []


@pytest.mark.parametrize("ssh_server", ["hang", "drip"], indirect=True)
def test_silent_or_dripping_ssh_server_times_out_within_the_deadline(ssh_server, short_deadline):
    started = time.monotonic()
    result = provider_health_probe(provider=ssh_provider(ssh_server))
    assert result.status == "timeout", result
    assert time.monotonic() - started < short_deadline.HEALTH_DEADLINE + 1.0


def test_ssh_to_a_metadata_address_is_blocked(short_deadline):
    provider = ProviderFactory.build(service="ssh", base_url="ssh://169.254.169.254",
                                     config={"hostname": "169.254.169.254", "username": "gpu"})
    assert provider_health_probe(provider=provider).status == "blocked"


def test_ssh_without_hostname_is_misconfigured():
    provider = ProviderFactory.build(service="ssh", base_url="", config={"username": "gpu"})
    assert provider_health_probe(provider=provider).status == "misconfigured"
