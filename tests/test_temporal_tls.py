"""Secured Temporal: TLS, mutual TLS and the API key reach a real TLS endpoint (a local proxy
that terminates TLS in front of the dev server), and each wrong setting is one sentence."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import os
import shutil
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from temporalio.service import TLSConfig
from temporalio.testing import WorkflowEnvironment

from infra.settings import Settings
from infra.temporal import connect
from infra.temporal_tls import TemporalSettingError, temporal_security

REPO_ROOT = Path(__file__).resolve().parent.parent
CCB = str(Path(sys.executable).parent / "ccb")


# -- certificates -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Issued:
    cert: Path
    key: Path


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))


class Authority:
    """A CA of its own, in ``directory``, that issues server and client certificates."""

    def __init__(self, directory: Path, name: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.UTC)
        self.cert = (
            x509.CertificateBuilder().subject_name(self.name).issuer_name(self.name)
            .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()),
                           critical=False)
            .sign(self.key, hashes.SHA256()))
        self.pem = directory / "ca.pem"
        self.pem.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, stem: str, *, dns: tuple[str, ...] = (), ips: tuple[str, ...] = (),
              client: bool = False) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
        names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, stem)]))
            .issuer_name(self.name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                self.key.public_key()), critical=False))
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        issued = Issued(self.directory / f"{stem}.pem", self.directory / f"{stem}-key.pem")
        issued.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(key, issued.key)
        return issued


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Our CA with a server certificate for 127.0.0.1, one for another name, a client
    certificate; and a second CA that signed none of them."""
    base = tmp_path_factory.mktemp("pki")
    ca = Authority(base / "ca", "ccb test CA")
    server = ca.issue("server", dns=("localhost",), ips=("127.0.0.1",))
    named = ca.issue("named", dns=("temporal.test",))
    client = ca.issue("client", client=True)
    other = Authority(base / "other", "some other CA")
    return {"ca": ca.pem, "server": server.cert, "server_key": server.key,
            "named": named.cert, "named_key": named.key,
            "client": client.cert, "client_key": client.key, "other_ca": other.pem}


# -- a TLS endpoint in front of the dev server ----------------------------------------------------

@asynccontextmanager
async def tls_proxy(upstream: str, cert: Path, key: Path,
                    client_ca: Path | None = None) -> AsyncIterator[str]:
    """Terminate TLS (HTTP/2 by ALPN, as gRPC wants) on 127.0.0.1 and pass the bytes on to
    ``upstream``, the dev server's plain port; with ``client_ca``, require a client
    certificate it signed. Yields the proxy's host:port."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.set_alpn_protocols(["h2"])
    if client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(client_ca)
    host, port = upstream.rsplit(":", 1)
    open_writers: set[asyncio.StreamWriter] = set()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with suppress(ConnectionError, ssl.SSLError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        open_writers.update((writer, up_writer))
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)
    try:
        yield f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        for writer in open_writers:  # the SDK keeps its connection open: end it here
            writer.close()
        await server.wait_closed()


@pytest.fixture
def upstream(dev_env: WorkflowEnvironment) -> str:
    return dev_env.client.service_client.config.target_host


def _settings(address: str, **values: object) -> Settings:
    return Settings.model_validate({"temporal_address": address, **values})


# -- (a) TLS and mutual TLS against a real endpoint ----------------------------------------------

async def test_tls_with_the_servers_ca_connects(upstream: str, pki: dict[str, Path]) -> None:
    async with tls_proxy(upstream, pki["server"], pki["server_key"]) as address:
        client = await connect(_settings(address, temporal_tls_ca_file=str(pki["ca"])))
        assert isinstance(client.service_client.config.tls, TLSConfig)
        assert (await client.count_workflows()).count >= 0


async def test_tls_with_a_wrong_ca_fails_naming_tls(upstream: str, pki: dict[str, Path]) -> None:
    async with tls_proxy(upstream, pki["server"], pki["server_key"]) as address:
        with pytest.raises(ConnectionError) as failed:
            await connect(_settings(address, temporal_tls_ca_file=str(pki["other_ca"])))
    message = str(failed.value)
    assert f"cannot reach Temporal at {address} over TLS" in message
    assert "certificate" in message.lower()
    assert "\n" not in message


async def test_plain_client_against_tls_fails(upstream: str, pki: dict[str, Path]) -> None:
    async with tls_proxy(upstream, pki["server"], pki["server_key"]) as address:
        with pytest.raises(ConnectionError, match="Start the stack"):
            await connect(_settings(address))


async def test_server_name_overrides_the_name_checked(upstream: str,
                                                      pki: dict[str, Path]) -> None:
    async with tls_proxy(upstream, pki["named"], pki["named_key"]) as address:
        with pytest.raises(ConnectionError, match="over TLS"):
            await connect(_settings(address, temporal_tls_ca_file=str(pki["ca"])))
        client = await connect(_settings(address, temporal_tls_ca_file=str(pki["ca"]),
                                         temporal_tls_server_name="temporal.test"))
        assert (await client.count_workflows()).count >= 0


async def test_mutual_tls_needs_the_client_certificate(upstream: str,
                                                       pki: dict[str, Path]) -> None:
    async with tls_proxy(upstream, pki["server"], pki["server_key"],
                         client_ca=pki["ca"]) as address:
        client = await connect(_settings(
            address, temporal_tls_ca_file=str(pki["ca"]),
            temporal_tls_cert_file=str(pki["client"]),
            temporal_tls_key_file=str(pki["client_key"])))
        assert (await client.count_workflows()).count >= 0
        with pytest.raises(ConnectionError, match="over TLS"):
            await connect(_settings(address, temporal_tls_ca_file=str(pki["ca"])))


# -- (b) the API key ------------------------------------------------------------------------------

async def test_api_key_reaches_the_client_over_tls(upstream: str, pki: dict[str, Path]) -> None:
    async with tls_proxy(upstream, pki["server"], pki["server_key"]) as address:
        client = await connect(_settings(address, temporal_api_key="key-123.abc",
                                         temporal_tls_ca_file=str(pki["ca"])))
        assert client.service_client.config.api_key == "key-123.abc"
        assert (await client.count_workflows()).count >= 0


async def test_api_key_alone_turns_tls_on(upstream: str) -> None:
    security = temporal_security(_settings(upstream, temporal_api_key="key-123"))
    assert security.api_key == "key-123"
    assert security.tls == TLSConfig()  # the system's CA roots
    # The dev server's port is plain, so a client that really speaks TLS cannot talk to it.
    with pytest.raises(ConnectionError, match="over TLS"):
        await connect(_settings(upstream, temporal_api_key="key-123"))


def test_the_variables_the_messages_name_are_the_settings(monkeypatch: pytest.MonkeyPatch,
                                                          pki: dict[str, Path]) -> None:
    for name, value in {"TLS": "true", "TLS_CA_FILE": str(pki["ca"]),
                        "TLS_CERT_FILE": str(pki["client"]),
                        "TLS_KEY_FILE": str(pki["client_key"]),
                        "TLS_SERVER_NAME": "temporal.test", "API_KEY": "key-1"}.items():
        monkeypatch.setenv(f"CCB_TEMPORAL_{name}", value)
    security = temporal_security(Settings())
    assert security.tls == TLSConfig(
        server_root_ca_cert=pki["ca"].read_bytes(), domain="temporal.test",
        client_cert=pki["client"].read_bytes(), client_private_key=pki["client_key"].read_bytes())
    assert security.api_key == "key-1"


def test_nothing_set_means_plaintext_and_no_key() -> None:
    security = temporal_security(_settings("127.0.0.1:7233"))
    assert security.tls is False and security.api_key is None
    assert temporal_security(_settings("h:1", temporal_tls=True)).tls == TLSConfig()


# -- (c) each wrong setting is one sentence naming it ---------------------------------------------

@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory, pki: dict[str, Path]) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("bad")
    not_pem = base / "notes.txt"
    not_pem.write_text("hello, not a certificate\n")
    mangled = base / "mangled.pem"
    mangled.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all!\n"
                       "-----END CERTIFICATE-----\n")
    der = base / "ca.der"
    der.write_bytes(x509.load_pem_x509_certificate(pki["ca"].read_bytes())
                    .public_bytes(serialization.Encoding.DER))
    encrypted = base / "encrypted-key.pem"
    key = serialization.load_pem_private_key(pki["client_key"].read_bytes(), None)
    encrypted.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pass")))
    other_key = base / "other-key.pem"
    _write_key(ec.generate_private_key(ec.SECP256R1()), other_key)
    return {"not_pem": not_pem, "mangled": mangled, "der": der, "encrypted": encrypted,
            "other_key": other_key, "dir": base}


WRONG = [
    ("missing_ca", {"temporal_tls_ca_file": "/nowhere/ca.pem"},
     "CCB_TEMPORAL_TLS_CA_FILE: /nowhere/ca.pem does not exist; set it to the PEM file of the "
     "server's CA, or unset it"),
    ("dir_ca", {"temporal_tls_ca_file": "{dir}"},
     "CCB_TEMPORAL_TLS_CA_FILE: {dir} is not a file; set it to the PEM file of the server's CA,"
     " or unset it"),
    ("text_ca", {"temporal_tls_ca_file": "{not_pem}"},
     "CCB_TEMPORAL_TLS_CA_FILE: {not_pem} is not a PEM certificate"),
    ("mangled_ca", {"temporal_tls_ca_file": "{mangled}"},
     "CCB_TEMPORAL_TLS_CA_FILE: {mangled} is not a PEM certificate"),
    ("der_ca", {"temporal_tls_ca_file": "{der}"},
     "CCB_TEMPORAL_TLS_CA_FILE: {der} is not a PEM certificate"),
    ("cert_without_key", {"temporal_tls_cert_file": "{client}"},
     "CCB_TEMPORAL_TLS_CERT_FILE is set but CCB_TEMPORAL_TLS_KEY_FILE is not; set both"),
    ("key_without_cert", {"temporal_tls_key_file": "{client_key}"},
     "CCB_TEMPORAL_TLS_KEY_FILE is set but CCB_TEMPORAL_TLS_CERT_FILE is not; set both"),
    ("missing_cert", {"temporal_tls_cert_file": "/nowhere/c.pem",
                      "temporal_tls_key_file": "{client_key}"},
     "CCB_TEMPORAL_TLS_CERT_FILE: /nowhere/c.pem does not exist; set it to the PEM file of the "
     "client certificate, or unset it"),
    ("text_cert", {"temporal_tls_cert_file": "{not_pem}", "temporal_tls_key_file": "{client_key}"},
     "CCB_TEMPORAL_TLS_CERT_FILE: {not_pem} is not a PEM certificate"),
    ("missing_key", {"temporal_tls_cert_file": "{client}", "temporal_tls_key_file": "/no/k.pem"},
     "CCB_TEMPORAL_TLS_KEY_FILE: /no/k.pem does not exist; set it to the PEM file of the client "
     "certificate's private key, or unset it"),
    ("cert_as_key", {"temporal_tls_cert_file": "{client}", "temporal_tls_key_file": "{client}"},
     "CCB_TEMPORAL_TLS_KEY_FILE: {client} is not a PEM private key"),
    ("encrypted_key", {"temporal_tls_cert_file": "{client}",
                       "temporal_tls_key_file": "{encrypted}"},
     "CCB_TEMPORAL_TLS_KEY_FILE: {encrypted} is encrypted, which the Temporal SDK cannot use"),
    ("mismatched_key", {"temporal_tls_cert_file": "{client}",
                        "temporal_tls_key_file": "{other_key}"},
     "CCB_TEMPORAL_TLS_KEY_FILE: {other_key} is not the private key of the certificate in "
     "CCB_TEMPORAL_TLS_CERT_FILE ({client}); set the two to a matching pair"),
    ("spaced_api_key", {"temporal_api_key": "abc def"},
     "CCB_TEMPORAL_API_KEY contains spaces, line breaks or non-ASCII characters"),
    ("server_name_with_port", {"temporal_tls_server_name": "temporal.test:7233"},
     "CCB_TEMPORAL_TLS_SERVER_NAME: 'temporal.test:7233' is not a host name"),
    ("empty_namespace", {"temporal_namespace": " "}, "CCB_TEMPORAL_NAMESPACE is empty"),
]


@pytest.mark.parametrize(("values", "expected"), [(v, e) for _, v, e in WRONG],
                         ids=[name for name, _, _ in WRONG])
async def test_wrong_setting_is_one_sentence(values: dict[str, str], expected: str,
                                             pki: dict[str, Path],
                                             bad_files: dict[str, Path]) -> None:
    paths = {k: str(v) for k, v in {**pki, **bad_files}.items()}
    settings = _settings("127.0.0.1:1", **{k: v.format(**paths) for k, v in values.items()})
    with pytest.raises(TemporalSettingError) as wrong:
        await connect(settings, attempts=60)  # no retries: a wrong setting stays wrong
    message = str(wrong.value)
    assert message.startswith(expected.format(**paths)), message
    assert "\n" not in message and message.count(". ") == 0, message
    assert isinstance(wrong.value, ValueError) and isinstance(wrong.value, ConnectionError)


UNREADABLE_CHECK = """
import sys
from infra.settings import Settings
from infra.temporal_tls import TemporalSettingError, temporal_security
try:
    temporal_security(Settings.model_validate({"temporal_tls_ca_file": sys.argv[1]}))
except TemporalSettingError as exc:
    print(exc)
"""


@pytest.mark.parametrize("closed", ["file", "directory"])
def test_unreadable_file_is_one_sentence(closed: str, pki: dict[str, Path],
                                         tmp_path: Path) -> None:
    # Root reads any file: as root the check runs without the capabilities that allow it.
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("as root the check needs setpriv (util-linux) to drop its capabilities")
        prefix = [setpriv, "--bounding-set", "-dac_override,-dac_read_search"]
    ca = tmp_path / "closed" / "ca.pem"
    ca.parent.mkdir()
    ca.write_bytes(pki["ca"].read_bytes())
    shut = ca if closed == "file" else ca.parent
    shut.chmod(0)
    try:
        done = subprocess.run([*prefix, sys.executable, "-c", UNREADABLE_CHECK, str(ca)],
                              cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    finally:
        shut.chmod(0o700)
    assert done.stdout == (f"CCB_TEMPORAL_TLS_CA_FILE: {ca} cannot be read (Permission "
                           "denied); make it readable by this user, or unset it\n"), done.stderr


def test_the_api_key_never_shows_in_a_message() -> None:
    with pytest.raises(TemporalSettingError) as wrong:
        temporal_security(_settings("h:1", temporal_api_key="sekrit value"))
    assert "sekrit" not in str(wrong.value)
    assert "sekrit" not in repr(_settings("h:1", temporal_api_key="sekrit"))


# -- the processes print the sentence as one line -------------------------------------------------

def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCB_")}
    return {**env, "CCB_DATA_DIR": str(tmp_path / "data"), "CCB_LOG_FORMAT": "console",
            "CCB_TEMPORAL_ADDRESS": "127.0.0.1:1", **values}


@pytest.mark.parametrize("argv", [[sys.executable, "-m", "worker"], [CCB, "status"]],
                         ids=["worker", "ccb-status"])
def test_process_prints_one_line_for_a_wrong_setting(argv: list[str], tmp_path: Path) -> None:
    env = _env(tmp_path, CCB_TEMPORAL_TLS_CA_FILE=str(tmp_path / "ca.pem"))
    done = subprocess.run(argv, env=env, cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode != 0
    assert "Traceback" not in done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if "CCB_TEMPORAL_TLS_CA_FILE" in line]
    assert len(lines) == 1, done.stderr
    assert f"CCB_TEMPORAL_TLS_CA_FILE: {tmp_path / 'ca.pem'} does not exist" in lines[0]
