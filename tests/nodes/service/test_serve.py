"""The service in a real process on uvicorn: plain HTTP and TLS (a self-signed certificate made
here with ``cryptography``), answering /healthz and stopping cleanly on SIGTERM; and
``armsledger serve``'s refusals of half-given TLS options."""

from __future__ import annotations

import datetime
import gc
import ipaddress
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from nodes.bootstrap import init_node
from nodes.cli.main import run
from nodes.settings import Settings

SERVING = Path(__file__).with_name("serving.py")
PASSPHRASE = "pw"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "armsledger test node")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    cert, key_file = directory / "node.crt", directory / "node.key"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert, key_file


@pytest.fixture
def home(tmp_path) -> Path:
    home = tmp_path / "be"
    init_node(Settings.load(environ={}, home=home, passphrase=PASSPHRASE), "BE").close()
    return home


def serve_and_ask(command: list[str], url: str, *, verify: bool | ssl.SSLContext = True) -> httpx.Response:
    """Start ``command``, ask ``url`` until it answers (60 s at most: a start took over 30 s on a machine
    loaded 20 on 2 cores), stop it with SIGTERM; exit 0 required."""
    env = {**os.environ, "ARMSLEDGER_PASSPHRASE": PASSPHRASE}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = httpx.get(url, verify=verify, timeout=2)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    if process.poll() is None:  # stopped first, so that reading its output ends
                        process.send_signal(signal.SIGTERM)
                    raise AssertionError(f"no answer from {url}:\n{process.communicate(timeout=30)[0]}") from None
                time.sleep(0.2)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    output = process.communicate(timeout=30)[0]
    assert process.returncode == 0, output
    assert "Traceback" not in output, output
    return answer


def test_the_service_answers_over_http_in_a_process_of_its_own(home):
    port = free_port()
    answer = serve_and_ask([sys.executable, str(SERVING), str(home), str(port)], f"http://127.0.0.1:{port}/healthz")
    assert answer.json() == {"status": "ok"}
    assert answer.headers["X-Frame-Options"] == "DENY"


def test_the_service_answers_over_tls_with_its_certificate(home, tmp_path):
    cert, key = self_signed(tmp_path)
    port = free_port()
    answer = serve_and_ask([sys.executable, str(SERVING), str(home), str(port), str(cert), str(key)],
                           f"https://127.0.0.1:{port}/healthz", verify=ssl.create_default_context(cafile=str(cert)))
    assert answer.json() == {"status": "ok"}
    assert answer.http_version in ("HTTP/1.1", "HTTP/2")


def test_armsledger_serve_answers_healthz(home):
    port = free_port()
    armsledger = Path(sys.executable).with_name("armsledger")
    answer = serve_and_ask([str(armsledger), "--home", str(home), "serve", "--port", str(port)],
                           f"http://127.0.0.1:{port}/healthz")
    assert answer.json() == {"status": "ok"}


@pytest.mark.parametrize("options", [["--tls-cert", "x.pem"], ["--tls-key", "x.pem"],
                                     ["--tls-cert", "missing.pem", "--tls-key", "missing.key"]])
def test_armsledger_serve_refuses_half_or_missing_tls_files(home, options, capsys):
    code = run(["--home", str(home), "serve", "--port", "8443", *options], {"ARMSLEDGER_PASSPHRASE": PASSPHRASE})
    assert code == 2
    assert "--tls-" in capsys.readouterr().err


def test_armsledger_serve_refuses_a_port_out_of_range(home, capsys):
    assert run(["--home", str(home), "serve", "--port", "70000"], {"ARMSLEDGER_PASSPHRASE": PASSPHRASE}) == 2
    assert "--port" in capsys.readouterr().err


def test_node_run_serve_relays_and_serves_in_one_process(home, kafka_bootstrap):
    port = free_port()
    armsledger = Path(sys.executable).with_name("armsledger")
    answer = serve_and_ask([str(armsledger), "--home", str(home), "--kafka", kafka_bootstrap, "node", "run",
                            "--serve", "--port", str(port)], f"http://127.0.0.1:{port}/readyz")
    assert answer.json() == {"status": "ready", "checks": {"database": "ok", "broker": "ok"}}


def test_the_service_collects_cycles_less_often_and_never_walks_what_the_start_made():
    from nodes.service.serve import GC_YOUNG_THRESHOLD, collect_less

    threshold = gc.get_threshold()
    try:
        collect_less()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *threshold[1:])
        assert GC_YOUNG_THRESHOLD > threshold[0]
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()
