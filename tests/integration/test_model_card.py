# -*- coding: utf-8 -*-
"""onprem.mlflow.model_card against a real MLflow tracking server (mlflow server --serve-artifacts)
on loopback, started and stopped by these tests, behind a small HTTPS proxy with basic auth (a CA
made here signs its certificate), as the stack's nginx fronts MLflow. Runs are logged with the real
MLflow client; the module runs through ansible-playbook, configured by the MLFLOW_TRACKING_*
environment as a data scientist's client.env does.

The server comes from the venv of `make mlflow-server` (full mlflow, cached per version in
~/.cache/onprem-mlflow/mlflow-server/<version>; ONPREM_MLFLOW_SERVER_VENV overrides). Without it
these tests FAIL (never a skip).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import http.client
import http.server
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid

import pytest
import yaml
from mlflow.entities import Dataset, DatasetInput, InputTag
from mlflow.tracking import MlflowClient

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULE = 'onprem.mlflow.model_card'
USER = 'alice'
PASSWORD = 'card-%s' % uuid.uuid4().hex


def mlflow_version():
    with open(os.path.join(ROOT, 'roles', 'mlflow', 'defaults', 'main.yml')) as handle:
        return yaml.safe_load(handle)['mlflow_version']


def server_venv():
    default = os.path.join(os.path.expanduser('~'), '.cache', 'onprem-mlflow', 'mlflow-server', mlflow_version())
    return os.environ.get('ONPREM_MLFLOW_SERVER_VENV') or default


# --- an HTTPS proxy with basic auth in front of MLflow, like the stack's nginx -------------------

class AuthProxy(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream_port, credentials, cert, key):
        super().__init__(('127.0.0.1', 0), ProxyHandler)
        self.upstream_port = upstream_port
        self.expected = 'Basic ' + base64.b64encode(credentials.encode()).decode()
        self.requests = []
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.socket = context.wrap_socket(self.socket, server_side=True)


class ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def _forward(self):
        self.server.requests.append((self.command, self.path))
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length) if length else None
        if self.headers.get('Authorization') != self.server.expected:
            page = b'<html><head><title>401 Authorization Required</title></head></html>'
            self.send_response(401)
            self.send_header('WWW-Authenticate', 'Basic realm="MLflow"')
            self.send_header('Content-Length', str(len(page)))
            self.end_headers()
            self.wfile.write(page)
            return
        upstream = http.client.HTTPConnection('127.0.0.1', self.server.upstream_port, timeout=60)
        headers = dict((k, v) for k, v in self.headers.items() if k.lower() in ('content-type', 'accept'))
        upstream.request(self.command, self.path, body=body, headers=headers)
        answer = upstream.getresponse()
        data = answer.read()
        self.send_response(answer.status)
        self.send_header('Content-Type', answer.getheader('Content-Type') or 'application/octet-stream')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        upstream.close()

    do_GET = do_POST = do_PUT = _forward


@pytest.fixture(scope='module')
def mlflow_server(free_port, make_tls):
    """(https URI of the proxy, CA file, the proxy, the MLflow client) for the module's tests."""
    executable = os.path.join(server_venv(), 'bin', 'mlflow')
    if not os.access(executable, os.X_OK):
        pytest.fail('no MLflow server at %s: run `make mlflow-server` (or set ONPREM_MLFLOW_SERVER_VENV to a venv '
                    'with mlflow==%s)' % (executable, mlflow_version()))
    workdir = tempfile.mkdtemp(prefix='onprem-mlflow-card-')
    port = free_port()
    log = os.path.join(workdir, 'server.log')
    with open(log, 'wb') as output:
        process = subprocess.Popen(
            [executable, 'server', '--host', '127.0.0.1', '--port', str(port), '--workers', '1',
             '--backend-store-uri', 'sqlite:///%s/mlflow.db' % workdir, '--serve-artifacts',
             '--artifacts-destination', os.path.join(workdir, 'artifacts')],
            stdout=output, stderr=subprocess.STDOUT, cwd=workdir, start_new_session=True,
            # As the stack runs it: no job runner (its huey consumers would only cost time here).
            env=dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION='false'))
    proxy = None
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen('http://127.0.0.1:%d/health' % port, timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                with open(log, 'rb') as handle:
                    tail = handle.read()[-3000:].decode(errors='replace')
                pytest.fail('the MLflow server did not come up:\n%s' % tail)
            time.sleep(0.5)
        ca, cert, key = make_tls(workdir)
        proxy = AuthProxy(port, '%s:%s' % (USER, PASSWORD), cert, key)
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        client = MlflowClient('http://127.0.0.1:%d' % port)
        yield dict(uri='https://127.0.0.1:%d' % proxy.server_address[1], ca=ca, proxy=proxy, client=client,
                   workdir=workdir)
    finally:
        if proxy is not None:
            proxy.shutdown()
        # `mlflow server` runs uvicorn as a child: stop the session it leads (its own process group).
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def client_env(mlflow_server, monkeypatch):
    """The MLFLOW_TRACKING_* settings of a client.env, in the environment ansible-playbook inherits."""
    monkeypatch.setenv('MLFLOW_TRACKING_URI', mlflow_server['uri'])
    monkeypatch.setenv('MLFLOW_TRACKING_USERNAME', USER)
    monkeypatch.setenv('MLFLOW_TRACKING_PASSWORD', PASSWORD)
    monkeypatch.setenv('MLFLOW_TRACKING_SERVER_CERT_PATH', mlflow_server['ca'])
    monkeypatch.delenv('MLFLOW_TRACKING_INSECURE_TLS', raising=False)
    return mlflow_server


def log_runs(client, experiment_name):
    """A finished run with params, metrics, a tag and a dataset input, and a run left RUNNING."""
    experiment_id = client.create_experiment(experiment_name)
    run = client.create_run(experiment_id, run_name='winner')
    run_id = run.info.run_id
    client.log_param(run_id, 'alpha', '0.5')
    client.log_param(run_id, 'layers', '3')
    for step in range(3):
        client.log_metric(run_id, 'loss', 1.0 / (step + 1), step=step)
    client.log_metric(run_id, 'accuracy', 0.93)
    client.set_tag(run_id, 'stage', 'integration')
    client.log_inputs(run_id, datasets=[DatasetInput(
        Dataset(name='iris', digest='abc123', source_type='local', source='{"uri": "/data/iris.csv"}'),
        tags=[InputTag('mlflow.data.context', 'training')])])
    client.set_terminated(run_id)
    running = client.create_run(experiment_id, run_name='still-running').info.run_id
    return dict(experiment_id=experiment_id, finished=run_id, running=running)


def card_for(run_id, experiment):
    return {
        'schema_version': 1,
        'model_details': {'name': 'iris-classifier', 'version': '1.0.0',
                          'run': {'id': run_id, 'experiment': experiment, 'type': 'training'}},
        'intended_use': {'primary_uses': ['Classify iris flowers'], 'out_of_scope': ['Other flowers']},
        'metrics': [{'name': 'accuracy', 'description': 'Accuracy on the held-out flowers'}],
        'considerations': {'limitations': ['150 flowers only']},
    }


def artifacts(client, run_id):
    """{name: bytes} of the files at the root of the run's artifacts."""
    files = {}
    with tempfile.TemporaryDirectory() as scratch:
        for info in client.list_artifacts(run_id):
            if not info.is_dir:
                with open(client.download_artifacts(run_id, info.path, scratch), 'rb') as handle:
                    files[info.path] = handle.read()
    return files


def new_runs(client):
    name = 'card-it-%s' % uuid.uuid4().hex[:8]
    return dict(log_runs(client, name), experiment=name)


@pytest.fixture
def runs(mlflow_server):
    """Runs of their own for one test."""
    return new_runs(mlflow_server['client'])


@pytest.fixture(scope='module')
def carded(mlflow_server):
    """Runs shared by the refusal tests, the finished one with a card applied by the module."""
    runs = new_runs(mlflow_server['client'])
    card = card_for(runs['finished'], runs['experiment'])
    with tempfile.NamedTemporaryFile('w', suffix='.yml') as handle:
        yaml.safe_dump(card, handle)
        handle.flush()
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'),
                   MLFLOW_TRACKING_URI=mlflow_server['uri'], MLFLOW_TRACKING_USERNAME=USER,
                   MLFLOW_TRACKING_PASSWORD=PASSWORD,
                   MLFLOW_TRACKING_SERVER_CERT_PATH=mlflow_server['ca'])
        proc = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), 'ansible'), 'localhost', '-m', MODULE,
             '-a', 'path=%s' % handle.name], env=env, capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == 0 and 'CHANGED' in proc.stdout, proc.stdout + proc.stderr
    assert sorted(artifacts(mlflow_server['client'], runs['finished'])) == ['modelcard.json', 'modelcard.md']
    return runs


def write_card(tmp_path, card):
    path = tmp_path / 'modelcard.yml'
    path.write_text(yaml.safe_dump(card, sort_keys=False))
    return str(path)


def test_apply_writes_the_card_once_and_check_mode_writes_nothing(run, client_env, runs, tmp_path):
    client = client_env['client']
    path = write_card(tmp_path, card_for(runs['finished'], runs['experiment']))

    checked = run(MODULE, dict(path=path), check=True, diff=True)
    assert checked['_rc'] == 0 and checked['changed'] is True, checked
    assert checked['diff']['before'] == ''
    assert artifacts(client, runs['finished']) == {}

    applied = run(MODULE, dict(path=path))
    assert applied['_rc'] == 0 and applied['changed'] is True, applied
    files = artifacts(client, runs['finished'])
    assert sorted(files) == ['modelcard.json', 'modelcard.md']
    card = json.loads(files['modelcard.json'])
    assert card == applied['card']
    assert card['run']['id'] == runs['finished'] and card['run']['status'] == 'FINISHED'
    assert card['run']['experiment'] == runs['experiment'] and card['run']['name'] == 'winner'
    assert card['run']['params'] == {'alpha': '0.5', 'layers': '3'}
    assert card['run']['metrics'] == {'accuracy': 0.93, 'loss': 1.0 / 3}
    assert card['run']['tags'] == {'stage': 'integration'}
    assert card['run']['datasets'] == [{'name': 'iris', 'digest': 'abc123', 'source_type': 'local',
                                        'source': {'uri': '/data/iris.csv'}, 'context': 'training'}]
    assert re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$', card['run']['end_time'])
    assert card['model_details']['run']['id'] == runs['finished']
    markdown = files['modelcard.md'].decode()
    assert markdown.startswith('# Model card: iris-classifier 1.0.0\n')
    assert '| alpha | 0.5 |' in markdown and '| layers | 3 |' in markdown
    assert '| accuracy | 0.93 | Accuracy on the held-out flowers |' in markdown
    assert '| loss | 0.3333333333333333 |' in markdown
    # The check-mode diff predicted exactly what was written.
    assert checked['diff']['after'] == files['modelcard.json'].decode()

    # Every request went through the HTTPS proxy with basic auth.
    assert ('PUT', '/api/2.0/mlflow-artifacts/artifacts/%s/%s/artifacts/modelcard.json'
            % (runs['experiment_id'], runs['finished'])) in client_env['proxy'].requests

    again = run(MODULE, dict(path=path), diff=True)
    assert again['_rc'] == 0 and again['changed'] is False, again
    assert [a['changed'] for a in again['artifacts']] == [False, False]
    assert artifacts(client, runs['finished']) == files

    # The same card given as data, with one more limitation: both artifacts are written again.
    card = card_for(runs['finished'], runs['experiment'])
    card['considerations']['limitations'].append('Measured on one greenhouse')
    changed = run(MODULE, dict(card=card), diff=True)
    assert changed['changed'] is True
    assert '"Measured on one greenhouse"' in changed['diff']['after']
    assert '"Measured on one greenhouse"' not in changed['diff']['before']
    assert b'- Measured on one greenhouse' in artifacts(client, runs['finished'])['modelcard.md']


def test_the_playbook_applies_a_card_with_the_client_env(client_env, runs, tmp_path, collections_dir):
    path = write_card(tmp_path, card_for(runs['finished'], runs['experiment']))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_COLLECTIONS_PATH=collections_dir,
               ANSIBLE_NOCOLOR='1')
    command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), 'onprem.mlflow.model_card',
               '-e', 'model_card_path=%s' % path]
    first = subprocess.run(command, cwd=str(tmp_path), env=env, capture_output=True, text=True, check=False,
                           timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr
    assert re.search(r'localhost\s*:\s*ok=3\s+changed=1\s', first.stdout), first.stdout
    assert sorted(artifacts(client_env['client'], runs['finished'])) == ['modelcard.json', 'modelcard.md']
    assert PASSWORD not in first.stdout + first.stderr


@pytest.mark.parametrize('case', ['unknown run', 'running run', 'missing section', 'other experiment',
                                  'missing metric'])
def test_refused_cards_leave_the_artifacts_alone(run, client_env, carded, case):
    client = client_env['client']
    runs = carded
    before = dict((run_id, artifacts(client, run_id)) for run_id in (runs['finished'], runs['running']))
    card = card_for(runs['finished'], runs['experiment'])
    if case == 'unknown run':
        card['model_details']['run']['id'] = uuid.uuid4().hex
        message = "model card: model_details.run.id: the tracking server %s has no run '%s'" % (
            client_env['uri'], card['model_details']['run']['id'])
    elif case == 'running run':
        card['model_details']['run']['id'] = runs['running']
        message = "model card: model_details.run.id: run '%s' is RUNNING, not FINISHED" % runs['running']
    elif case == 'missing section':
        card.pop('considerations')
        card['model_details']['description'] = 'changed, but must not be written'
        message = 'model card: considerations is required'
    elif case == 'other experiment':
        card['model_details']['run']['experiment'] = 'not-%s' % runs['experiment']
        message = ("model card: model_details.run.experiment is 'not-%s' but run '%s' belongs to experiment '%s'"
                   % (runs['experiment'], runs['finished'], runs['experiment']))
    else:
        card['metrics'].append({'name': 'f1'})
        message = "model card: metrics[1].name: run '%s' has no metric 'f1' (it has: accuracy, loss)" % runs['finished']
    result = run(MODULE, dict(card=card))
    assert result['_rc'] != 0 and result.get('failed') is True, result
    assert result['msg'].startswith(message), result['msg']
    assert result['changed'] is False
    after = dict((run_id, artifacts(client, run_id)) for run_id in (runs['finished'], runs['running']))
    assert after == before


def test_wrong_password_and_unknown_ca_are_clear(run, client_env, carded, monkeypatch):
    card = card_for(carded['finished'], carded['experiment'])
    monkeypatch.setenv('MLFLOW_TRACKING_PASSWORD', 'not-the-password')
    refused = run(MODULE, dict(card=card))
    assert refused.get('failed') is True
    assert 'answered HTTP 401 (401 Authorization Required)' in refused['msg'] and 'check username and password' \
        in refused['msg'], refused['msg']

    monkeypatch.setenv('MLFLOW_TRACKING_PASSWORD', PASSWORD)
    monkeypatch.delenv('MLFLOW_TRACKING_SERVER_CERT_PATH')
    untrusted = run(MODULE, dict(card=card))
    assert untrusted.get('failed') is True
    assert 'CERTIFICATE_VERIFY_FAILED' in untrusted['msg'], untrusted['msg']

    # MLFLOW_TRACKING_INSECURE_TLS=true turns verification off, as for the MLflow client.
    monkeypatch.setenv('MLFLOW_TRACKING_INSECURE_TLS', 'true')
    unverified = run(MODULE, dict(card=card))
    assert unverified['_rc'] == 0 and unverified['changed'] is False, unverified
