# -*- coding: utf-8 -*-
"""Fixtures of the module integration tests.

The servers come from tests/integration/services.sh (real PostgreSQL, MariaDB and MinIO on
loopback); their connection details are read from $ONPREM_MLFLOW_IT_DIR/env. The modules are
run THROUGH ANSIBLE (ansible-playbook, JSON stdout callback); the server state is then read
directly with psycopg2 / PyMySQL / boto3.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import ipaddress
import json
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IT_DIR = os.environ.get('ONPREM_MLFLOW_IT_DIR', '/tmp/onprem-mlflow-it')
ENV_FILE = os.path.join(IT_DIR, 'env')
BIN_DIR = os.path.dirname(sys.executable)


def _read_env():
    values = {}
    if not os.path.exists(ENV_FILE):
        return None
    with open(ENV_FILE) as handle:
        for line in handle:
            line = line.strip()
            if line and '=' in line:
                key, value = line.split('=', 1)
                values[key] = value.strip('"')
    return values


@pytest.fixture(scope='session')
def services():
    values = _read_env()
    if values is None:
        pytest.fail('%s is missing: start the servers with tests/integration/services.sh start' % ENV_FILE)
    return values


class Runner(object):
    """Run one module task through ansible-playbook and return its JSON result."""

    def __init__(self, workdir, collections):
        self.workdir = workdir
        self.collections = collections
        self.last_stdout = ''

    def __call__(self, module, args, check=False, diff=False, python=None):
        task = {'name': 'under test', module: args, 'check_mode': check, 'diff': diff}
        play = [{'hosts': 'localhost', 'gather_facts': False, 'tasks': [task]}]
        path = os.path.join(self.workdir, 'play-%s.yml' % uuid.uuid4().hex[:8])
        with open(path, 'w') as handle:
            json.dump(play, handle)
        env = dict(os.environ)
        env.update(
            ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'),
            ANSIBLE_COLLECTIONS_PATH=self.collections,
            ANSIBLE_STDOUT_CALLBACK='ansible.posix.json',
            ANSIBLE_LOCALHOST_WARNING='false',
            ANSIBLE_INVENTORY_UNPARSED_WARNING='false',
            ANSIBLE_NOCOLOR='1',
        )
        extra = json.dumps({'ansible_python_interpreter': python or sys.executable})
        proc = subprocess.run(
            [os.path.join(BIN_DIR, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local', '-e', extra, path],
            cwd=ROOT, env=env, capture_output=True, text=True,
            timeout=300, check=False)
        self.last_stdout = proc.stdout
        try:
            output = json.loads(proc.stdout)
        except ValueError as exc:
            raise AssertionError('ansible-playbook gave no JSON (rc %s):\n%s\n%s'
                                 % (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:])) from exc
        result = output['plays'][0]['tasks'][0]['hosts']['localhost']
        result['_rc'] = proc.returncode
        return result


@pytest.fixture
def run(tmp_path, collections_dir):
    return Runner(str(tmp_path), collections_dir)


@pytest.fixture
def unique():
    return 'it_%s' % uuid.uuid4().hex[:8]


# --- helpers of the tests that start servers of their own ----------------------------------------

def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _make_tls(directory):
    """A CA and a server certificate for 127.0.0.1 signed by it, written into ``directory``.

    Returns the paths (ca.crt, server.crt, server.key).
    """
    now = datetime.datetime.now(datetime.UTC)
    valid = dict(not_valid_before=now - datetime.timedelta(minutes=5), not_valid_after=now + datetime.timedelta(days=1))
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'onprem-mlflow test CA')])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(valid['not_valid_before'])
          .not_valid_after(valid['not_valid_after'])
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, '127.0.0.1')]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(valid['not_valid_before']).not_valid_after(valid['not_valid_after'])
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    os.makedirs(directory, exist_ok=True)
    files = (('ca.crt', ca.public_bytes(serialization.Encoding.PEM)),
             ('server.crt', cert.public_bytes(serialization.Encoding.PEM)),
             ('server.key', key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption())))
    paths = []
    for name, content in files:
        paths.append(os.path.join(directory, name))
        with open(paths[-1], 'wb') as handle:
            handle.write(content)
    return paths


@pytest.fixture(scope='session')
def free_port():
    """A function returning a free TCP port on loopback."""
    return _free_port


@pytest.fixture(scope='session')
def make_tls():
    """A function writing a CA and a certificate for 127.0.0.1 into a directory: (ca, cert, key) paths."""
    return _make_tls


@pytest.fixture
def spawn_minio(services, tmp_path, free_port):
    """A function starting a MinIO server of the test's own on loopback, stopped at the test's end.

    ``spawn_minio(volumes, certs=None, env=None)``: ``volumes`` are the MinIO arguments naming its drives
    (several make an erasure-coded deployment), ``certs`` a --certs-dir, ``env`` more environment
    variables of the server. Waits until the server reports write
    quorum (/minio/health/cluster) and returns dict(endpoint, access_key, secret_key, base).
    """
    binary = services.get('MINIO_BIN_USED')
    if not binary:
        pytest.fail('MINIO_BIN_USED missing from the env file of services.sh (MinIO did not start: %s)'
                    % services.get('MINIO_ERROR', 'unknown'))
    started = []

    def start(volumes, certs=None, env=None):
        base = str(tmp_path / ('minio-%d' % len(started)))
        os.makedirs(base, exist_ok=True)
        port, console = free_port(), free_port()
        user, password = 'root%s' % uuid.uuid4().hex[:6], 'pw-%s' % uuid.uuid4().hex
        env = dict(os.environ, MINIO_ROOT_USER=user, MINIO_ROOT_PASSWORD=password, MINIO_BROWSER='off',
                   **(env or {}))
        if len(volumes) > 1:
            # Erasure-coded: MinIO refuses drives on the root filesystem unless told it runs in CI, and
            # uses only drives that exist.
            env['MINIO_CI_CD'] = '1'
            for volume in volumes:
                os.makedirs(volume, exist_ok=True)
        args = [binary, 'server', '--quiet', '--address', '127.0.0.1:%d' % port,
                '--console-address', '127.0.0.1:%d' % console]
        if certs:
            args += ['--certs-dir', certs]
        log_path = os.path.join(base, 'server.log')
        with open(log_path, 'wb') as log:
            proc = subprocess.Popen(args + list(volumes), stdout=log, stderr=subprocess.STDOUT, env=env)
        started.append(proc)
        endpoint = '%s://127.0.0.1:%d' % ('https' if certs else 'http', port)
        context = ssl._create_unverified_context() if certs else None  # readiness only; tests verify TLS
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(endpoint + '/minio/health/cluster', timeout=2, context=context):
                    break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    with open(log_path) as handle:
                        pytest.fail('MinIO did not come up:\n%s' % handle.read()[-3000:])
                time.sleep(0.5)
        return dict(endpoint=endpoint, access_key=user, secret_key=password, base=base)

    yield start
    for proc in started:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
