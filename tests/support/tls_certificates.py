"""A throwaway certificate authority and a TLS server that only shakes hands, for the tests of the Kafka
transport's TLS settings (the local broker serves plaintext only: docs/kafka-transport.md)."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Certificates:
    """PEM files in one directory: ``ca`` (the CA's certificate), ``server``/``server_key`` (for
    ``localhost`` and 127.0.0.1), ``client``/``client_key`` (the key encrypted with ``password_file``'s)."""

    ca: Path
    server: Path
    server_key: Path
    client: Path
    client_key: Path
    password_file: Path


def make_certificates(directory: Path) -> Certificates:
    now = datetime.datetime.now(datetime.timezone.utc)

    def name(common_name: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])

    def issued(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name, signer: ec.EllipticCurvePrivateKey,
               *extensions: tuple[x509.ExtensionType, bool]) -> x509.Certificate:
        builder = (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(issuer)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1)))
        for extension, critical in extensions:
            builder = builder.add_extension(extension, critical=critical)
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = issued("armsledger test CA", ca_key, name("armsledger test CA"), ca_key,
                (x509.BasicConstraints(ca=True, path_length=None), True))
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = issued("localhost", server_key, ca.subject, ca_key, (x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False))
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = issued("node NL", client_key, ca.subject, ca_key)
    files = Certificates(*(directory / n for n in ("ca.pem", "server.pem", "server.key", "client.pem", "client.key",
                                                    "client.key.password")))
    files.password_file.write_text("key password\n")
    pem = serialization.Encoding.PEM
    files.ca.write_bytes(ca.public_bytes(pem))
    files.server.write_bytes(server.public_bytes(pem))
    files.server_key.write_bytes(server_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))
    files.client.write_bytes(client.public_bytes(pem))
    files.client_key.write_bytes(client_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"key password")))
    return files


class HandshakeServer:
    """A TLS listener on 127.0.0.1 that completes handshakes (requiring a client certificate signed by
    the CA when ``require_client``) and hangs up; ``with`` starts and stops it."""

    def __init__(self, certificates: Certificates, *, require_client: bool = False):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificates.server, certificates.server_key)
        if require_client:
            # TLS 1.2: the client learns of a refused certificate in the handshake (TLS 1.3 tells it after).
            context.maximum_version = ssl.TLSVersion.TLSv1_2
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(certificates.ca)
        self.context = context
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.handshakes = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            try:
                with self.context.wrap_socket(connection, server_side=True):
                    self.handshakes += 1
            except (ssl.SSLError, OSError):
                connection.close()

    def __enter__(self) -> HandshakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.listener.close()
        self._thread.join(timeout=5)
