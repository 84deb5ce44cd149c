"""TLS and SASL settings towards a real Kafka: each setting that cannot work is refused naming its
variable (exit 2 at the command line); the settings reach the real kafka-python clients through one
function; a TLS handshake is verified against the CA and the host name, and a TLS client facing the
plaintext local broker fails with a clear error instead of waiting for ever. The local broker (Tansu
0.6.0) serves neither TLS nor SASL users we can create: see docs/kafka-transport.md."""

from __future__ import annotations

import ssl

import pytest
from kafka import KafkaConsumer, KafkaProducer
from tls_certificates import HandshakeServer, make_certificates

from nodes.errors import ConfigurationError, TransportError
from nodes.federation.kafka_security import KafkaSecurity, check_tls_handshake, client_config, tls_context
from nodes.federation.kafka_transport import KafkaTransport
from nodes.settings import Settings

from inprocess_cli import initialised_cli

P = "ARMSLEDGER_KAFKA_"
#: kafka-python does no I/O when constructing a consumer or producer that is told the broker's version.
NO_PROBE = {"api_version": (2, 5, 0)}


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("tls"))


def test_the_default_is_plaintext_with_nothing_else():
    settings = Settings.load({})
    assert settings.kafka_security == KafkaSecurity()
    assert client_config(settings.kafka_security) == {"security_protocol": "PLAINTEXT"}


def test_sasl_over_tls_with_a_client_certificate_reaches_every_real_client(certs, tmp_path):
    password = tmp_path / "kafka.password"
    password.write_text("scram secret\n")
    settings = Settings.load({
        P + "SECURITY_PROTOCOL": "sasl_ssl", P + "CA_FILE": str(certs.ca), P + "CERT_FILE": str(certs.client),
        P + "KEY_FILE": str(certs.client_key), P + "KEY_PASSWORD_FILE": str(certs.password_file),
        P + "SASL_MECHANISM": "scram-sha-512", P + "USERNAME": "node-NL", P + "PASSWORD_FILE": str(password)})
    security = settings.kafka_security
    assert security.protocol == "SASL_SSL" and security.check_hostname and "scram secret" not in repr(security)
    transport = KafkaTransport("127.0.0.1:1", "t", security=security)
    options = transport.client_options()
    consumer = KafkaConsumer(**options, **NO_PROBE)
    producer = KafkaProducer(**options, **NO_PROBE)
    try:
        for client in (consumer, producer):
            assert client.config["security_protocol"] == "SASL_SSL"
            assert client.config["sasl_mechanism"] == "SCRAM-SHA-512"
            assert client.config["sasl_plain_username"] == "node-NL"
            assert client.config["sasl_plain_password"] == "scram secret"  # the file's first line
            context = client.config["ssl_context"]
            assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
            assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
            assert [dict(n[0] for n in c["subject"])["commonName"] for c in context.get_ca_certs()] == \
                ["armsledger test CA"]
    finally:
        consumer.close()
        producer.close(timeout=0)


@pytest.mark.parametrize(("environ", "named"), [
    ({"SECURITY_PROTOCOL": "TLS"}, "SECURITY_PROTOCOL"),
    ({"CA_FILE": "{ca}"}, "CA_FILE"),                                          # TLS file without TLS
    ({"SECURITY_PROTOCOL": "SSL", "CA_FILE": "/nonexistent/ca.pem"}, "CA_FILE"),
    ({"SECURITY_PROTOCOL": "SSL", "CA_FILE": "{password}"}, "CA_FILE"),        # not a certificate
    ({"SECURITY_PROTOCOL": "SSL", "CERT_FILE": "{client}"}, "CERT_FILE"),      # without its key
    ({"SECURITY_PROTOCOL": "SSL", "CERT_FILE": "{client}", "KEY_FILE": "{client_key}"}, "KEY_PASSWORD_FILE"),
    ({"SECURITY_PROTOCOL": "SSL", "CHECK_HOSTNAME": "maybe"}, "CHECK_HOSTNAME"),
    ({"CHECK_HOSTNAME": "off"}, "CHECK_HOSTNAME"),
    ({"USERNAME": "nl"}, "USERNAME"),                                          # SASL setting without SASL
    ({"SECURITY_PROTOCOL": "SASL_SSL", "USERNAME": "nl", "PASSWORD": "x"}, "SASL_MECHANISM"),
    ({"SECURITY_PROTOCOL": "SASL_SSL", "SASL_MECHANISM": "GSSAPI", "USERNAME": "nl", "PASSWORD": "x"},
     "SASL_MECHANISM"),
    ({"SECURITY_PROTOCOL": "SASL_PLAINTEXT", "SASL_MECHANISM": "PLAIN", "USERNAME": "nl", "PASSWORD": "x"},
     "SASL_MECHANISM"),                                                        # a password in clear
    ({"SECURITY_PROTOCOL": "SASL_SSL", "SASL_MECHANISM": "SCRAM-SHA-256", "PASSWORD": "x"}, "USERNAME"),
    ({"SECURITY_PROTOCOL": "SASL_SSL", "SASL_MECHANISM": "SCRAM-SHA-256", "USERNAME": "nl"}, "PASSWORD"),
    ({"SECURITY_PROTOCOL": "SASL_SSL", "SASL_MECHANISM": "SCRAM-SHA-256", "USERNAME": "nl", "PASSWORD": "x",
      "PASSWORD_FILE": "{password}"}, "PASSWORD"),
    ({"SECURITY_PROTOCOL": "SASL_SSL", "SASL_MECHANISM": "SCRAM-SHA-256", "USERNAME": "nl",
      "PASSWORD_FILE": "{empty}"}, "PASSWORD_FILE"),
], ids=lambda v: "-".join(f"{k}" for k in v) if isinstance(v, dict) else v)
def test_a_setting_that_cannot_work_is_refused_naming_its_variable(certs, tmp_path, environ, named):
    empty = tmp_path / "empty"
    empty.write_text("\n")
    files = {"ca": certs.ca, "client": certs.client, "client_key": certs.client_key,
             "password": certs.password_file, "empty": empty}
    env = {P + k: v.format(**files) for k, v in environ.items()}
    with pytest.raises(ConfigurationError, match=P + named):
        KafkaTransport("127.0.0.1:1", "t", security=Settings.load(env).kafka_security)


def test_the_command_line_refuses_a_bad_setting_with_exit_2(monkeypatch, capsys, tmp_path, sqlite_url):
    cli = initialised_cli(monkeypatch, capsys, tmp_path / "nl", sqlite_url, "NL")
    monkeypatch.setenv(P + "SECURITY_PROTOCOL", "SSL")
    monkeypatch.setenv(P + "CA_FILE", str(tmp_path / "missing.pem"))
    refused = cli.refused("--kafka", "127.0.0.1:1", "sync")
    assert P + "CA_FILE" in refused.err


def test_the_handshake_verifies_the_broker_certificate_and_its_name(certs, tmp_path):
    good = tls_context(KafkaSecurity(protocol="SSL", ca_file=str(certs.ca)))
    with HandshakeServer(certs) as server:
        check_tls_handshake(f"localhost:{server.port}", good, 5.0)
        check_tls_handshake(f"127.0.0.1:{server.port}", good, 5.0)
        other = make_certificates(tmp_path)  # another CA, which did not sign the broker's certificate
        with pytest.raises(TransportError, match="does not verify"):
            check_tls_handshake(f"localhost:{server.port}", tls_context(
                KafkaSecurity(protocol="SSL", ca_file=str(other.ca))), 5.0)
        assert server.handshakes == 2


def test_mutual_tls_presents_the_client_certificate(certs):
    security = KafkaSecurity(protocol="SSL", ca_file=str(certs.ca), cert_file=str(certs.client),
                             key_file=str(certs.client_key), key_password_file=str(certs.password_file))
    with HandshakeServer(certs, require_client=True) as server:
        check_tls_handshake(f"localhost:{server.port}", tls_context(security), 5.0)
        with pytest.raises(TransportError):  # without a client certificate the server refuses
            check_tls_handshake(f"localhost:{server.port}",
                                tls_context(KafkaSecurity(protocol="SSL", ca_file=str(certs.ca))), 5.0)
    assert server.handshakes == 1


def test_a_tls_client_facing_the_plaintext_broker_fails_clearly_and_the_transport_goes_on(certs, kafka_bootstrap):
    security = KafkaSecurity(protocol="SSL", ca_file=str(certs.ca))
    with KafkaTransport(kafka_bootstrap, "tls-on-plaintext", security=security, timeout_s=2.0) as transport:
        with pytest.raises(TransportError, match="no TLS handshake .* plaintext listener"):
            transport.ensure_topics(["NL"])
        with pytest.raises(TransportError, match="no TLS handshake"):  # asked again: the same, no hang
            transport.list_topics()
    with KafkaTransport(kafka_bootstrap, "tls-on-plaintext", timeout_s=5.0) as plaintext:
        assert "tls-on-plaintext.inbox.NL" in plaintext.ensure_topics(["NL"])
