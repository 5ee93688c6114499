"""TLS and the API key for a secured Temporal (Temporal Cloud, or a cluster with TLS).

The settings are checked before the first connection: a missing file, a certificate that is
no PEM or a key without its certificate would otherwise surface as one of the SDK's transport
errors after retries, far from the setting that caused it.
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass
from pathlib import Path

from temporalio.service import TLSConfig

from infra.settings import Settings

CA_FILE = "CCB_TEMPORAL_TLS_CA_FILE"
CERT_FILE = "CCB_TEMPORAL_TLS_CERT_FILE"
KEY_FILE = "CCB_TEMPORAL_TLS_KEY_FILE"
SERVER_NAME = "CCB_TEMPORAL_TLS_SERVER_NAME"
API_KEY = "CCB_TEMPORAL_API_KEY"
NAMESPACE = "CCB_TEMPORAL_NAMESPACE"

_WHAT = {
    CA_FILE: "the PEM file of the server's CA",
    CERT_FILE: "the PEM file of the client certificate",
    KEY_FILE: "the PEM file of the client certificate's private key",
}
_HOST_NAME = re.compile(r"^[A-Za-z0-9*]([A-Za-z0-9.*-]*[A-Za-z0-9])?$")
_API_KEY = re.compile(r"^[\x21-\x7e]+$")  # what an HTTP/2 header value carries unquoted


class TemporalSettingError(ValueError, ConnectionError):
    """A Temporal connection setting is wrong; the message is the one sentence to show.

    It is a ConnectionError too, so every caller that already turns a failed connection into
    one line (the worker, every ``ccb`` command) does the same for a wrong setting.
    """


@dataclass(frozen=True)
class TemporalSecurity:
    """What ``Client.connect`` takes for transport security: ``tls=`` and ``api_key=``."""

    tls: TLSConfig | bool
    api_key: str | None

    @property
    def uses_tls(self) -> bool:
        return self.tls is not False


def temporal_security(settings: Settings) -> TemporalSecurity:
    """The checked TLS config and API key; raises TemporalSettingError on a wrong setting."""
    if not settings.temporal_namespace.strip():
        raise TemporalSettingError(
            f"{NAMESPACE} is empty; set it to the Temporal namespace (on Temporal Cloud "
            "<name>.<account id>), or unset it for 'default'")
    api_key = settings.temporal_api_key.get_secret_value()
    if api_key and not _API_KEY.match(api_key):
        raise TemporalSettingError(
            f"{API_KEY} contains spaces, line breaks or non-ASCII characters; set it to the "
            "key exactly as Temporal Cloud showed it")
    server_name = settings.temporal_tls_server_name
    if server_name and not _HOST_NAME.match(server_name):
        raise TemporalSettingError(
            f"{SERVER_NAME}: {server_name!r} is not a host name; set it to the name on the "
            "server's certificate (no scheme or port), or unset it")
    cert_path, key_path = settings.temporal_tls_cert_file, settings.temporal_tls_key_file
    if cert_path and not key_path:
        raise TemporalSettingError(
            f"{CERT_FILE} is set but {KEY_FILE} is not; set both for mutual TLS (the client "
            "certificate and its private key), or neither")
    if key_path and not cert_path:
        raise TemporalSettingError(
            f"{KEY_FILE} is set but {CERT_FILE} is not; set both for mutual TLS (the client "
            "certificate and its private key), or neither")
    ca = _certificate(CA_FILE, settings.temporal_tls_ca_file)
    cert = _certificate(CERT_FILE, cert_path)
    key = _private_key(key_path, cert_path)
    on = bool(settings.temporal_tls or ca or cert or server_name or api_key)
    if not on:
        return TemporalSecurity(tls=False, api_key=None)
    return TemporalSecurity(
        tls=TLSConfig(server_root_ca_cert=ca, domain=server_name or None, client_cert=cert,
                      client_private_key=key),
        api_key=api_key or None)


def _read(setting: str, value: str) -> bytes:
    path = Path(value).expanduser()
    fix = f"set it to {_WHAT[setting]}, or unset it"
    try:  # a directory we may not enter fails already in exists()
        exists, is_file = path.exists(), path.is_file()
        data = path.read_bytes() if is_file else b""
    except OSError as exc:
        raise TemporalSettingError(
            f"{setting}: {value} cannot be read ({exc.strerror}); make it readable by this "
            "user, or unset it") from None
    if not exists:
        raise TemporalSettingError(f"{setting}: {value} does not exist; {fix}")
    if not is_file:
        raise TemporalSettingError(f"{setting}: {value} is not a file; {fix}")
    return data


def _certificate(setting: str, value: str) -> bytes | None:
    """The file's PEM bytes once OpenSSL has parsed every certificate in it."""
    if not value:
        return None
    data = _read(setting, value)
    text = data.decode("ascii", errors="replace")
    try:
        if "-----BEGIN CERTIFICATE-----" not in text:
            raise ValueError("no certificate block")
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=text)
    except (ssl.SSLError, ValueError):
        raise TemporalSettingError(
            f"{setting}: {value} is not a PEM certificate (a '-----BEGIN CERTIFICATE-----' "
            f"block); set it to {_WHAT[setting]}, or unset it") from None
    return data


def _private_key(value: str, cert_path: str) -> bytes | None:
    """The key's PEM bytes once OpenSSL has loaded it as the certificate's own key."""
    if not value:
        return None
    data = _read(KEY_FILE, value)
    text = data.decode("ascii", errors="replace")
    if "ENCRYPTED" in text:
        raise _encrypted(value)
    if not re.search(r"-----BEGIN [A-Z ]*PRIVATE KEY-----", text):
        raise _not_a_key(value)

    def no_password() -> bytes:
        raise _encrypted(value)

    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(
            Path(cert_path).expanduser(), Path(value).expanduser(), no_password)
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            raise TemporalSettingError(
                f"{KEY_FILE}: {value} is not the private key of the certificate in {CERT_FILE} "
                f"({cert_path}); set the two to a matching pair") from None
        raise _not_a_key(value) from None
    return data


def _not_a_key(value: str) -> TemporalSettingError:
    return TemporalSettingError(
        f"{KEY_FILE}: {value} is not a PEM private key (a '-----BEGIN PRIVATE KEY-----' "
        f"block); set it to {_WHAT[KEY_FILE]}, or unset it")


def _encrypted(value: str) -> TemporalSettingError:
    return TemporalSettingError(
        f"{KEY_FILE}: {value} is encrypted, which the Temporal SDK cannot use; decrypt it "
        "(`openssl pkey -in key.pem -out plain.pem`) and point the setting at the result")
