# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json
from urllib.error import HTTPError, URLError

import pytest
from ansible.module_utils.errors import AnsibleFallbackNotFound

from ansible_collections.onprem.mlflow.plugins.module_utils import tracking


def params(**kw):
    base = dict(tracking_uri='https://mlflow.example.internal/', username='alice', password='s3cret',
                ca_path='/etc/onprem-mlflow/ca.crt', validate_certs=True, timeout=30)
    base.update(kw)
    return base


class Answer(object):
    def __init__(self, body, code=200):
        self.body = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.code = code

    def getcode(self):
        return self.code

    def read(self):
        return self.body


def http_error(url, code, body=b'', headers=None):
    return HTTPError(url, code, 'error', headers or {}, io.BytesIO(body))


class Opener(object):
    """Stands in for open_url: records (url, kwargs), answers in turn."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def __call__(self, url, **kwargs):
        self.calls.append((url, kwargs))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_argument_spec_reads_the_mlflow_client_environment():
    spec = tracking.tracking_argument_spec()
    assert spec['password']['no_log'] is True
    assert spec['tracking_uri']['fallback'][1] == ['MLFLOW_TRACKING_URI']
    assert spec['username']['fallback'][1] == ['MLFLOW_TRACKING_USERNAME']
    assert spec['password']['fallback'][1] == ['MLFLOW_TRACKING_PASSWORD']
    assert spec['ca_path']['fallback'][1] == ['MLFLOW_TRACKING_SERVER_CERT_PATH']
    assert spec['validate_certs']['fallback'] == (tracking.insecure_tls_fallback, ['MLFLOW_TRACKING_INSECURE_TLS'])


@pytest.mark.parametrize('value, validate', [('true', False), ('True', False), ('1', False), ('false', True),
                                             ('0', True), ('', True)])
def test_insecure_tls_is_the_opposite_of_validate_certs(monkeypatch, value, validate):
    monkeypatch.setenv('MLFLOW_TRACKING_INSECURE_TLS', value)
    assert tracking.insecure_tls_fallback('MLFLOW_TRACKING_INSECURE_TLS') is validate


def test_insecure_tls_unset_leaves_the_default(monkeypatch):
    monkeypatch.delenv('MLFLOW_TRACKING_INSECURE_TLS', raising=False)
    with pytest.raises(AnsibleFallbackNotFound):
        tracking.insecure_tls_fallback('MLFLOW_TRACKING_INSECURE_TLS')


@pytest.mark.parametrize('kw, message', [
    (dict(tracking_uri=None), 'tracking_uri is not set, nor is MLFLOW_TRACKING_URI'),
    (dict(tracking_uri='  '), 'tracking_uri is not set, nor is MLFLOW_TRACKING_URI'),
    (dict(tracking_uri='file:///tmp/mlruns'), "must be the http:// or https:// URL of the tracking server"),
    (dict(tracking_uri='mlflow.example.internal'), "must be the http:// or https:// URL"),
    (dict(tracking_uri='https://alice:pw@mlflow.example.internal'), 'tracking_uri must not hold credentials'),
    (dict(username=None), 'password is set but username is not'),
])
def test_bad_connection_settings(kw, message):
    with pytest.raises(tracking.TrackingError, match=message):
        tracking.TrackingClient(params(**kw))


def test_requests_carry_basic_auth_the_ca_and_no_redirects():
    opener = Opener(Answer({'run': {'info': {}}}))
    client = tracking.TrackingClient(params(), opener=opener)
    assert client.get_run('abc') == {'info': {}}
    url, kwargs = opener.calls[0]
    assert url == 'https://mlflow.example.internal/api/2.0/mlflow/runs/get?run_id=abc'
    assert kwargs['method'] == 'GET'
    assert kwargs['url_username'] == 'alice' and kwargs['url_password'] == 's3cret'
    assert kwargs['force_basic_auth'] is True
    assert kwargs['ca_path'] == '/etc/onprem-mlflow/ca.crt' and kwargs['validate_certs'] is True
    assert kwargs['follow_redirects'] == 'none' and kwargs['use_netrc'] is False
    assert kwargs['timeout'] == 30


def test_without_username_no_credentials_are_sent():
    opener = Opener(Answer({'experiment': {'name': 'e'}}))
    client = tracking.TrackingClient(params(username=None, password=None, validate_certs=False), opener=opener)
    assert client.get_experiment('7') == {'name': 'e'}
    url, kwargs = opener.calls[0]
    assert url.endswith('/api/2.0/mlflow/experiments/get?experiment_id=7')
    assert 'url_username' not in kwargs and 'force_basic_auth' not in kwargs
    assert kwargs['validate_certs'] is False


def test_an_mlflow_error_is_reported_with_its_code():
    body = json.dumps({'error_code': 'RESOURCE_DOES_NOT_EXIST', 'message': 'Run with id=x not found'}).encode()
    client = tracking.TrackingClient(params(), opener=Opener(http_error('u', 404, body)))
    with pytest.raises(tracking.TrackingError) as exc:
        client.get_run('x')
    assert exc.value.status == 404 and exc.value.error_code == 'RESOURCE_DOES_NOT_EXIST'
    assert str(exc.value) == ('GET https://mlflow.example.internal/api/2.0/mlflow/runs/get answered HTTP 404 '
                              '(RESOURCE_DOES_NOT_EXIST: Run with id=x not found)')


def test_401_says_to_check_the_credentials_and_keeps_the_page_title_only():
    page = b'<html><head><title>401 Authorization Required</title></head><body>nginx</body></html>'
    client = tracking.TrackingClient(params(), opener=Opener(http_error('u', 401, page)))
    with pytest.raises(tracking.TrackingError) as exc:
        client.get_run('x')
    message = str(exc.value)
    assert 'answered HTTP 401 (401 Authorization Required)' in message
    assert 'MLFLOW_TRACKING_USERNAME' in message and 'nginx' not in message


def test_a_redirect_names_the_url_to_use():
    error = http_error('u', 301, b'', {'Location': 'https://mlflow.example.internal/api/2.0/mlflow/runs/get'})
    client = tracking.TrackingClient(params(tracking_uri='http://mlflow.example.internal'), opener=Opener(error))
    with pytest.raises(tracking.TrackingError, match='redirected to https://mlflow.example.internal/api'):
        client.get_run('x')


def test_no_answer_at_all():
    client = tracking.TrackingClient(params(), opener=Opener(URLError(ConnectionRefusedError(111, 'refused'))))
    with pytest.raises(tracking.TrackingError) as exc:
        client.get_run('x')
    assert exc.value.status is None
    assert str(exc.value).startswith('GET https://mlflow.example.internal/api/2.0/mlflow/runs/get failed: ')


def test_an_answer_that_is_not_json():
    client = tracking.TrackingClient(params(), opener=Opener(Answer(b'<html>')))
    with pytest.raises(tracking.TrackingError, match='did not answer JSON'):
        client.get_run('x')


@pytest.mark.parametrize('uri, root', [
    ('mlflow-artifacts:/1/abc/artifacts', '1/abc/artifacts'),
    ('mlflow-artifacts:/1/abc/artifacts/', '1/abc/artifacts'),
    ('mlflow-artifacts://mlflow.example.internal/1/abc/artifacts', '1/abc/artifacts'),
])
def test_artifact_root_of_proxied_runs(uri, root):
    assert tracking.TrackingClient(params()).artifact_root(uri) == root


@pytest.mark.parametrize('uri, message', [
    ('s3://mlflow/artifacts/1/abc/artifacts', 'is not proxied by the tracking server'),
    ('/var/lib/mlflow/1/abc/artifacts', 'is not proxied by the tracking server'),
    (None, 'is not proxied by the tracking server'),
    ('mlflow-artifacts://other.example.internal/1/abc/artifacts', "names the host 'other.example.internal'"),
    ('mlflow-artifacts:/', 'has no usable path'),
    ('mlflow-artifacts:/1/../../etc', 'has no usable path'),
])
def test_artifact_root_refuses_what_the_server_does_not_proxy(uri, message):
    with pytest.raises(tracking.TrackingError, match=message):
        tracking.TrackingClient(params()).artifact_root(uri)


def test_list_artifacts_gives_the_files_only():
    listing = {'files': [{'path': 'modelcard.json', 'is_dir': False, 'file_size': 12},
                         {'path': 'model', 'is_dir': True}, {'path': 'empty.txt', 'is_dir': False}]}
    opener = Opener(Answer(listing))
    client = tracking.TrackingClient(params(), opener=opener)
    assert client.list_artifacts('1/abc/artifacts') == {'modelcard.json': 12, 'empty.txt': 0}
    assert opener.calls[0][0] == ('https://mlflow.example.internal/api/2.0/mlflow-artifacts/artifacts'
                                  '?path=1%2Fabc%2Fartifacts')


def test_an_empty_artifact_directory_lists_nothing():
    client = tracking.TrackingClient(params(), opener=Opener(Answer({})))
    assert client.list_artifacts('1/abc/artifacts') == {}


def test_get_artifact_is_none_when_absent_and_other_errors_raise():
    opener = Opener(Answer(b'bytes'), http_error('u', 404, b'{"error_code": "RESOURCE_DOES_NOT_EXIST"}'),
                    http_error('u', 500, b'{"message": "boom"}'))
    client = tracking.TrackingClient(params(), opener=opener)
    assert client.get_artifact('1/abc/artifacts/modelcard.json') == b'bytes'
    assert client.get_artifact('1/abc/artifacts/modelcard.json') is None
    with pytest.raises(tracking.TrackingError, match='HTTP 500 .boom.'):
        client.get_artifact('1/abc/artifacts/modelcard.json')
    assert opener.calls[0][0] == ('https://mlflow.example.internal/api/2.0/mlflow-artifacts/artifacts/'
                                  '1/abc/artifacts/modelcard.json')


def test_put_artifact_sends_the_bytes_with_their_type():
    opener = Opener(Answer({}))
    client = tracking.TrackingClient(params(), opener=opener)
    client.put_artifact('1/abc/artifacts/modelcard.md', b'# card\n', 'text/markdown; charset=utf-8')
    url, kwargs = opener.calls[0]
    assert url == 'https://mlflow.example.internal/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/modelcard.md'
    assert kwargs['method'] == 'PUT' and kwargs['data'] == b'# card\n'
    assert kwargs['headers'] == {'Content-Type': 'text/markdown; charset=utf-8'}
