# -*- coding: utf-8 -*-
"""The module's main flow with the HTTP layer faked at Ansible's open_url: a small stand-in of the
tracking server (runs/get, experiments/get and the proxied artifact API, answering as MLflow 3.17.2
does) that records every request. The real server is exercised by tests/integration/test_model_card.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json
from urllib.error import HTTPError
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.onprem.mlflow.plugins.module_utils import model_card as mc
from ansible_collections.onprem.mlflow.plugins.module_utils import tracking
from ansible_collections.onprem.mlflow.plugins.modules import model_card

URI = 'https://mlflow.example.internal'
ARTIFACTS = '/api/2.0/mlflow-artifacts/artifacts'
PASSWORD = 'Xq7pass-word-of-alice'


class Answer(object):
    def __init__(self, body):
        self.body = body if isinstance(body, bytes) else json.dumps(body).encode()

    def getcode(self):
        return 200

    def read(self):
        return self.body


class FakeServer(object):
    """What the module sees of MLflow's REST API; ``files`` maps artifact paths to bytes."""

    def __init__(self, run, experiment):
        self.runs = {run['info']['run_id']: run}
        self.experiments = {experiment['experiment_id']: experiment}
        self.files = {}
        self.requests = []
        self.keep_writes = True

    def error(self, url, code, error_code, message):
        body = json.dumps({'error_code': error_code, 'message': message}).encode()
        return HTTPError(url, code, message, {}, io.BytesIO(body))

    def __call__(self, url, method=None, data=None, headers=None, **kwargs):
        self.requests.append(dict(url=url, method=method, data=data, headers=headers, **kwargs))
        parts = urlsplit(url)
        query = dict((key, values[0]) for key, values in parse_qs(parts.query).items())
        if parts.path == '/api/2.0/mlflow/runs/get':
            if query['run_id'] not in self.runs:
                raise self.error(url, 404, 'RESOURCE_DOES_NOT_EXIST', 'Run with id=%s not found' % query['run_id'])
            return Answer({'run': self.runs[query['run_id']]})
        if parts.path == '/api/2.0/mlflow/experiments/get':
            return Answer({'experiment': self.experiments[query['experiment_id']]})
        if parts.path == ARTIFACTS:
            prefix = query['path'] + '/'
            files = [{'path': name[len(prefix):], 'is_dir': False, 'file_size': len(body)}
                     for name, body in sorted(self.files.items()) if name.startswith(prefix)]
            return Answer({'files': files} if files else {})
        if parts.path.startswith(ARTIFACTS + '/'):
            path = unquote(parts.path[len(ARTIFACTS) + 1:])
            if method == 'PUT':
                if self.keep_writes:
                    self.files[path] = data
                return Answer({})
            if path not in self.files:
                raise self.error(url, 404, 'RESOURCE_DOES_NOT_EXIST', 'No such artifact')
            return Answer(self.files[path])
        raise AssertionError('unexpected request %s %s' % (method, url))

    @property
    def puts(self):
        return [unquote(urlsplit(r['url']).path[len(ARTIFACTS) + 1:]) for r in self.requests if r['method'] == 'PUT']


@pytest.fixture
def server(monkeypatch, mlflow_run, mlflow_experiment):
    fake = FakeServer(mlflow_run, mlflow_experiment)
    monkeypatch.setattr(tracking, 'open_url', fake)
    for name in ('MLFLOW_TRACKING_URI', 'MLFLOW_TRACKING_USERNAME', 'MLFLOW_TRACKING_PASSWORD',
                 'MLFLOW_TRACKING_SERVER_CERT_PATH', 'MLFLOW_TRACKING_INSECURE_TLS'):
        monkeypatch.delenv(name, raising=False)
    return fake


def run_module(capsys, args, check=False, diff=False):
    """main() as Ansible runs it; returns its JSON result (no_log values already masked)."""
    args = dict(args)
    args.update(_ansible_check_mode=check, _ansible_diff=diff)
    with patch_module_args(args), pytest.raises(SystemExit):
        model_card.main()
    return json.loads(capsys.readouterr().out)


def connection(**kw):
    base = dict(tracking_uri=URI, username='alice', password=PASSWORD, ca_path='/etc/onprem-mlflow/ca.crt')
    base.update(kw)
    return base


RUN_ROOT = '1/0b65f198c7d142a8a1eaf7aeb4e63c03/artifacts'


def test_first_apply_writes_both_artifacts_then_nothing_changes(capsys, server, card):
    result = run_module(capsys, dict(connection(), card=card))
    assert result['changed'] is True, result
    assert server.puts == [RUN_ROOT + '/modelcard.json', RUN_ROOT + '/modelcard.md']
    written = json.loads(server.files[RUN_ROOT + '/modelcard.json'])
    assert written == result['card']
    assert written['run']['params'] == {'alpha': '0.5', 'layers': '3'}
    assert written['run']['metrics'] == {'accuracy': 0.93, 'loss': 0.3333333333333333}
    assert written['model_details'] == card['model_details']
    assert b'| alpha | 0.5 |' in server.files[RUN_ROOT + '/modelcard.md']
    assert [(a['name'], a['changed']) for a in result['artifacts']] == [('modelcard.json', True),
                                                                        ('modelcard.md', True)]
    assert result['artifacts'][0]['uri'] == 'mlflow-artifacts:/%s/modelcard.json' % RUN_ROOT
    assert result['run_id'] == '0b65f198c7d142a8a1eaf7aeb4e63c03'
    puts = [r for r in server.requests if r['method'] == 'PUT']
    assert puts[0]['headers'] == {'Content-Type': 'application/json'}
    assert puts[1]['headers'] == {'Content-Type': 'text/markdown; charset=utf-8'}
    # Every request with basic auth and the CA.
    assert all(r['url_username'] == 'alice' and r['ca_path'] == '/etc/onprem-mlflow/ca.crt' for r in server.requests)

    server.requests[:] = []
    again = run_module(capsys, dict(connection(), card=card))
    assert again['changed'] is False
    assert server.puts == []
    assert [a['changed'] for a in again['artifacts']] == [False, False]
    assert again['card'] == result['card']


def test_only_the_artifact_that_differs_is_written(capsys, server, card):
    run_module(capsys, dict(connection(), card=card))
    server.files[RUN_ROOT + '/modelcard.md'] = b'edited by hand\n'
    server.requests[:] = []
    result = run_module(capsys, dict(connection(), card=card))
    assert result['changed'] is True
    assert server.puts == [RUN_ROOT + '/modelcard.md']
    assert [a['changed'] for a in result['artifacts']] == [False, True]


def test_a_changed_card_rewrites_the_artifacts(capsys, server, card):
    run_module(capsys, dict(connection(), card=card))
    card['considerations']['limitations'].append('Not for production')
    server.requests[:] = []
    result = run_module(capsys, dict(connection(), card=card))
    assert result['changed'] is True and len(server.puts) == 2
    assert b'- Not for production' in server.files[RUN_ROOT + '/modelcard.md']


def test_check_mode_reports_the_change_and_writes_nothing(capsys, server, card):
    result = run_module(capsys, dict(connection(), card=card), check=True, diff=True)
    assert result['changed'] is True
    assert server.puts == [] and server.files == {}
    assert result['diff']['before'] == ''
    assert json.loads(result['diff']['after']) == result['card']
    assert result['diff']['after_header'] == 'mlflow-artifacts:/%s/modelcard.json' % RUN_ROOT


def test_diff_shows_the_json_before_and_after(capsys, server, card):
    run_module(capsys, dict(connection(), card=card))
    before = server.files[RUN_ROOT + '/modelcard.json'].decode()
    card['model_details']['version'] = '1.0.1'
    result = run_module(capsys, dict(connection(), card=card), diff=True)
    assert result['diff']['before'] == before
    assert json.loads(result['diff']['after'])['model_details']['version'] == '1.0.1'


def test_no_diff_without_diff_mode(capsys, server, card):
    assert 'diff' not in run_module(capsys, dict(connection(), card=card))


def test_the_password_never_shows_in_the_result(capsys, server, card):
    card['model_details']['description'] = 'the password is %s' % PASSWORD
    result = run_module(capsys, dict(connection(), card=card))
    assert PASSWORD not in json.dumps(result)
    assert model_card.argument_spec()['password']['no_log'] is True


def test_a_card_file_in_yaml(capsys, server, card, tmp_path):
    import yaml

    path = tmp_path / 'modelcard.yml'
    path.write_text(yaml.safe_dump(card))
    result = run_module(capsys, dict(connection(), path=str(path)))
    assert result['changed'] is True
    assert json.loads(server.files[RUN_ROOT + '/modelcard.json'])['model_details'] == card['model_details']


def test_the_client_env_settings_are_used(capsys, server, card, monkeypatch):
    monkeypatch.setenv('MLFLOW_TRACKING_URI', URI + '/')
    monkeypatch.setenv('MLFLOW_TRACKING_USERNAME', 'bob')
    monkeypatch.setenv('MLFLOW_TRACKING_PASSWORD', PASSWORD)
    monkeypatch.setenv('MLFLOW_TRACKING_SERVER_CERT_PATH', '/tmp/ca.crt')
    monkeypatch.setenv('MLFLOW_TRACKING_INSECURE_TLS', 'true')
    result = run_module(capsys, dict(card=card))
    assert result['changed'] is True, result
    first = server.requests[0]
    assert first['url'].startswith(URI + '/api/2.0/mlflow/runs/get?')
    assert first['url_username'] == 'bob' and first['url_password'] == PASSWORD and first['force_basic_auth']
    assert first['ca_path'] == '/tmp/ca.crt' and first['validate_certs'] is False
    # The password from the environment is hidden like the option.
    assert PASSWORD not in json.dumps(result)


def test_options_win_over_the_environment(capsys, server, card, monkeypatch):
    monkeypatch.setenv('MLFLOW_TRACKING_URI', 'https://elsewhere.example.internal')
    monkeypatch.setenv('MLFLOW_TRACKING_INSECURE_TLS', 'true')
    run_module(capsys, dict(connection(validate_certs=True), card=card))
    assert server.requests[0]['url'].startswith(URI + '/')
    assert server.requests[0]['validate_certs'] is True


def fails(capsys, args, **kw):
    result = run_module(capsys, args, **kw)
    assert result.get('failed') is True, result
    return result


def test_an_invalid_card_fails_before_any_request(capsys, server, card):
    card.pop('intended_use')
    card['model_details']['run'].pop('id')
    result = fails(capsys, dict(connection(), card=card))
    assert result['msg'] == 'model card: intended_use is required; model_details.run.id is required'
    assert result['errors'] == ['intended_use is required', 'model_details.run.id is required']
    assert server.requests == []
    assert result['changed'] is False


def test_an_unknown_run_fails_and_writes_nothing(capsys, server, card):
    card['model_details']['run']['id'] = 'f' * 32
    result = fails(capsys, dict(connection(), card=card))
    assert result['msg'] == ("model card: model_details.run.id: the tracking server %s has no run '%s'"
                             % (URI, 'f' * 32))
    assert server.puts == []


def test_a_running_run_fails_and_writes_nothing(capsys, server, card, mlflow_run):
    server.runs[mlflow_run['info']['run_id']]['info']['status'] = 'RUNNING'
    result = fails(capsys, dict(connection(), card=card))
    assert "is RUNNING, not FINISHED" in result['msg'] and result['msg'].startswith('model card: model_details.run.id')
    assert server.puts == [] and result['changed'] is False


def test_every_problem_of_the_run_is_named(capsys, server, card):
    card['model_details']['run']['experiment'] = 'other'
    card['metrics'] = [{'name': 'f1'}]
    result = fails(capsys, dict(connection(), card=card))
    assert result['errors'] == [
        "model_details.run.experiment is 'other' but run '0b65f198c7d142a8a1eaf7aeb4e63c03' belongs to "
        "experiment 'card-probe' (ID 1)",
        "metrics[0].name: run '0b65f198c7d142a8a1eaf7aeb4e63c03' has no metric 'f1' (it has: accuracy, loss)"]
    assert server.puts == []


def test_a_run_whose_artifacts_are_not_proxied_fails_clearly(capsys, server, card, mlflow_run):
    server.runs[mlflow_run['info']['run_id']]['info']['artifact_uri'] = 's3://mlflow/artifacts/1/x/artifacts'
    result = fails(capsys, dict(connection(), card=card))
    assert result['msg'].startswith("model card: the run's artifact URI 's3://mlflow/artifacts/1/x/artifacts' is "
                                    "not proxied by the tracking server")
    assert server.puts == []


def test_wrong_credentials(capsys, server, card, monkeypatch):
    def refuse(url, **kwargs):
        raise HTTPError(url, 401, 'Unauthorized', {}, io.BytesIO(b'<title>401 Authorization Required</title>'))

    monkeypatch.setattr(tracking, 'open_url', refuse)
    result = fails(capsys, dict(connection(), card=card))
    assert 'answered HTTP 401' in result['msg'] and 'check username and password' in result['msg']


def test_a_write_the_server_did_not_keep_fails(capsys, server, card):
    server.keep_writes = False
    result = fails(capsys, dict(connection(), card=card))
    assert result['msg'].startswith('model card: the tracking server accepted mlflow-artifacts:/%s/modelcard.json '
                                    'but reading it back gave other content' % RUN_ROOT)
    assert result['changed'] is True and result['written'] == ['modelcard.json', 'modelcard.md']


def test_path_and_card_are_exclusive_and_one_is_needed(capsys, server, card):
    assert 'mutually exclusive' in fails(capsys, dict(connection(), card=card, path='/x.yml'))['msg']
    assert 'one of the following is required' in fails(capsys, connection())['msg']


def test_a_missing_card_file(capsys, server, tmp_path):
    result = fails(capsys, dict(connection(), path=str(tmp_path / 'nope.yml')))
    assert result['msg'].startswith('model card: the card file %s cannot be read' % (tmp_path / 'nope.yml'))


def test_no_tracking_uri_anywhere(capsys, server, card):
    result = fails(capsys, dict(card=card))
    assert result['msg'].startswith('model card: tracking_uri is not set, nor is MLFLOW_TRACKING_URI')


def test_the_written_json_is_what_module_utils_renders(capsys, server, card, mlflow_run, mlflow_experiment):
    run_module(capsys, dict(connection(), card=card))
    expected = mc.render(mc.augment(card, mc.run_section(mlflow_run, mlflow_experiment)))
    assert server.files[RUN_ROOT + '/modelcard.json'] == expected['modelcard.json']
    assert server.files[RUN_ROOT + '/modelcard.md'] == expected['modelcard.md']
