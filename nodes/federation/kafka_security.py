"""How a node authenticates to a real Kafka and protects the link: TLS and SASL settings.

Read once from the environment into ``KafkaSecurity`` (part of ``nodes.settings.Settings``),
checked there (each error names its variable), and turned into kafka-python's client options
by ONE function, ``client_config``, which every producer, consumer and admin client uses.
No kafka import here: the settings are read and checked by every command, federation or not.
How to configure a broker to match, with its ACLs: deploy/README.md, docs/kafka-transport.md.
"""

from __future__ import annotations

import os
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from nodes.errors import ConfigurationError, TransportError

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN")
_OFF = ("0", "false", "no", "off")
_ON = ("1", "true", "yes", "on")
#: A password file holds one line: more than this is not a password file.
_MAX_SECRET_BYTES = 4096

PREFIX = "ARMSLEDGER_KAFKA_"
PROTOCOL_VARIABLE = PREFIX + "SECURITY_PROTOCOL"
CA_VARIABLE = PREFIX + "CA_FILE"
CERT_VARIABLE = PREFIX + "CERT_FILE"
KEY_VARIABLE = PREFIX + "KEY_FILE"
KEY_PASSWORD_VARIABLE = PREFIX + "KEY_PASSWORD_FILE"
HOSTNAME_VARIABLE = PREFIX + "CHECK_HOSTNAME"
MECHANISM_VARIABLE = PREFIX + "SASL_MECHANISM"
USERNAME_VARIABLE = PREFIX + "USERNAME"
PASSWORD_VARIABLE = PREFIX + "PASSWORD"
PASSWORD_FILE_VARIABLE = PREFIX + "PASSWORD_FILE"


@dataclass(frozen=True)
class KafkaSecurity:
    """The security protocol and what it needs; the default is PLAINTEXT (the embedded broker).

    ``ca_file``: PEM of the CA that signed the broker's certificate ("" for the system's);
    ``cert_file`` / ``key_file``: the node's client certificate and key (PEM) for mutual TLS;
    ``key_password_file``: a file holding the key's password; ``check_hostname``: that the
    broker's certificate names the host connected to; ``sasl_mechanism``, ``username`` and
    ``password`` (or ``password_file``) for SASL. Build with ``load``, which checks them.
    """

    protocol: str = "PLAINTEXT"
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    key_password_file: str = ""
    check_hostname: bool = True
    sasl_mechanism: str = ""
    username: str = ""
    password: str = field(default="", repr=False)
    password_file: str = ""

    @property
    def uses_tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    @property
    def uses_sasl(self) -> bool:
        return self.protocol in ("SASL_PLAINTEXT", "SASL_SSL")

    @classmethod
    def load(cls, environ: Mapping[str, str]) -> KafkaSecurity:
        """From the ARMSLEDGER_KAFKA_* variables; ``ConfigurationError`` naming the variable for a value
        out of its choices, a combination that cannot work (a certificate without TLS, SASL without a
        user, PLAIN over a link in clear) or a file that cannot be read."""
        def text(variable: str) -> str:
            return str(environ.get(variable, "") or "").strip()

        protocol = text(PROTOCOL_VARIABLE).upper() or "PLAINTEXT"
        if protocol not in PROTOCOLS:
            raise ConfigurationError(f"{PROTOCOL_VARIABLE}={protocol[:40]!r}: expected one of {', '.join(PROTOCOLS)}")
        hostname = text(HOSTNAME_VARIABLE).lower() or "on"
        if hostname not in _ON + _OFF:
            raise ConfigurationError(f"{HOSTNAME_VARIABLE}={hostname[:40]!r}: expected on or off")
        mechanism = text(MECHANISM_VARIABLE).upper()
        security = cls(protocol=protocol, ca_file=text(CA_VARIABLE), cert_file=text(CERT_VARIABLE),
                       key_file=text(KEY_VARIABLE), key_password_file=text(KEY_PASSWORD_VARIABLE),
                       check_hostname=hostname in _ON, sasl_mechanism=mechanism, username=text(USERNAME_VARIABLE),
                       password=str(environ.get(PASSWORD_VARIABLE, "") or ""),
                       password_file=text(PASSWORD_FILE_VARIABLE))
        security.check()
        return security

    def check(self) -> None:
        """``ConfigurationError`` naming the variable of the first setting that cannot work."""
        tls_only = ((CA_VARIABLE, self.ca_file), (CERT_VARIABLE, self.cert_file), (KEY_VARIABLE, self.key_file),
                    (KEY_PASSWORD_VARIABLE, self.key_password_file))
        if not self.uses_tls:
            for variable, value in tls_only:
                if value:
                    raise ConfigurationError(f"{variable} is set but {PROTOCOL_VARIABLE} is {self.protocol}: "
                                             "use SSL or SASL_SSL")
            if not self.check_hostname:
                raise ConfigurationError(f"{HOSTNAME_VARIABLE} is off but {PROTOCOL_VARIABLE} is {self.protocol}")
        if bool(self.cert_file) != bool(self.key_file):
            raise ConfigurationError(f"{CERT_VARIABLE} and {KEY_VARIABLE} go together: give both or neither")
        if self.key_password_file and not self.key_file:
            raise ConfigurationError(f"{KEY_PASSWORD_VARIABLE} is set without {KEY_VARIABLE}")
        for variable, value in tls_only:
            if value:
                _readable(variable, value)
        self._check_sasl()

    def _check_sasl(self) -> None:
        sasl = ((MECHANISM_VARIABLE, self.sasl_mechanism), (USERNAME_VARIABLE, self.username),
                (PASSWORD_VARIABLE, self.password), (PASSWORD_FILE_VARIABLE, self.password_file))
        if not self.uses_sasl:
            for variable, value in sasl:
                if value:
                    raise ConfigurationError(f"{variable} is set but {PROTOCOL_VARIABLE} is {self.protocol}: "
                                             "use SASL_SSL (or SASL_PLAINTEXT)")
            return
        if self.sasl_mechanism not in MECHANISMS:
            raise ConfigurationError(f"{MECHANISM_VARIABLE}={self.sasl_mechanism[:40]!r}: expected one of "
                                     f"{', '.join(MECHANISMS)}")
        if self.sasl_mechanism == "PLAIN" and not self.uses_tls:
            raise ConfigurationError(f"{MECHANISM_VARIABLE}=PLAIN over {self.protocol} would send the password in "
                                     "clear: use SASL_SSL, or a SCRAM mechanism")
        if not self.username:
            raise ConfigurationError(f"{USERNAME_VARIABLE} is required with {PROTOCOL_VARIABLE}={self.protocol}")
        if bool(self.password) == bool(self.password_file):
            raise ConfigurationError(f"give one of {PASSWORD_VARIABLE} or {PASSWORD_FILE_VARIABLE} "
                                     f"with {PROTOCOL_VARIABLE}={self.protocol}")
        if self.password_file:
            _secret(PASSWORD_FILE_VARIABLE, self.password_file)


def client_config(security: KafkaSecurity) -> dict[str, object]:
    """kafka-python's options for ``security``, for every client (producer, consumer, admin): the
    protocol, one TLS context (``tls_context``) and the SASL mechanism and credentials.

    Reads the files now: ``ConfigurationError`` naming the variable when one cannot be read or used.
    """
    config: dict[str, object] = {"security_protocol": security.protocol}
    if security.uses_tls:
        config.update(ssl_context=tls_context(security), ssl_check_hostname=security.check_hostname)
    if security.uses_sasl:
        password = _secret(PASSWORD_FILE_VARIABLE, security.password_file) if security.password_file \
            else security.password
        config.update(sasl_mechanism=security.sasl_mechanism, sasl_plain_username=security.username,
                      sasl_plain_password=password)
    return config


def tls_context(security: KafkaSecurity) -> ssl.SSLContext:
    """The client TLS context: TLS 1.2 or later, the broker's certificate verified against ``ca_file``
    (or the system's CAs), its host name checked unless turned off, the client certificate if given.

    ``ConfigurationError`` naming the variable of a file that is not what it should be.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = security.check_hostname
    try:
        if security.ca_file:
            context.load_verify_locations(security.ca_file)
        else:
            context.load_default_certs()
    except (ssl.SSLError, OSError) as e:
        raise ConfigurationError(f"{CA_VARIABLE}={security.ca_file!r}: not a PEM CA certificate ({e})") from e
    if security.cert_file:
        password = _secret(KEY_PASSWORD_VARIABLE, security.key_password_file) if security.key_password_file \
            else None
        try:
            context.load_cert_chain(security.cert_file, security.key_file, password)
        except (ssl.SSLError, OSError) as e:
            raise ConfigurationError(f"{CERT_VARIABLE}={security.cert_file!r} with {KEY_VARIABLE}="
                                     f"{security.key_file!r}: not a PEM certificate and its key, or the key's "
                                     f"password ({KEY_PASSWORD_VARIABLE}) is wrong ({e})") from e
    return context


def check_tls_handshake(server: str, context: ssl.SSLContext, timeout_s: float) -> None:
    """Complete a TLS handshake with ``server`` (``host:port``) within ``timeout_s``, then hang up.

    kafka-python waits for ever for a handshake the other side never answers (a plaintext listener
    reads the ClientHello as the start of a huge request): this bounds it, and names the cause.
    ``TransportError`` when the broker is unreachable, does not answer TLS, or fails verification.
    """
    host, _, port = server.strip().rpartition(":")
    host = host.strip("[]")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s) as raw, \
                context.wrap_socket(raw, server_hostname=host):
            return
    except ssl.SSLCertVerificationError as e:
        raise TransportError(f"Kafka broker at {server}: its TLS certificate does not verify ({e.verify_message}; "
                             f"see {CA_VARIABLE} and {HOSTNAME_VARIABLE})") from e
    except (TimeoutError, socket.timeout) as e:
        raise TransportError(f"Kafka broker at {server}: no TLS handshake within {timeout_s:g} s: is it a "
                             f"plaintext listener? ({PROTOCOL_VARIABLE})") from e
    except (ssl.SSLError, OSError, ValueError) as e:
        raise TransportError(f"Kafka broker at {server}: TLS handshake failed: {type(e).__name__}: {e}") from e


def _readable(variable: str, path: str) -> Path:
    file = Path(path)
    if not file.is_file() or not os.access(file, os.R_OK):
        raise ConfigurationError(f"{variable}={path!r}: no readable file there")
    return file


def _secret(variable: str, path: str) -> str:
    """The first line of the file at ``path`` (a password), without its line end."""
    file = _readable(variable, path)
    try:
        data = file.read_bytes()[:_MAX_SECRET_BYTES + 1]
    except OSError as e:
        raise ConfigurationError(f"{variable}={path!r}: cannot be read: {e.strerror}") from e
    if len(data) > _MAX_SECRET_BYTES:
        raise ConfigurationError(f"{variable}={path!r}: over {_MAX_SECRET_BYTES} bytes: not a password file")
    try:
        secret = data.decode().splitlines()[0] if data.strip() else ""
    except UnicodeDecodeError as e:
        raise ConfigurationError(f"{variable}={path!r}: not UTF-8 text") from e
    if not secret:
        raise ConfigurationError(f"{variable}={path!r}: the file is empty")
    return secret
