# -*- coding: utf-8 -*-
# Copyright: onprem.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small client of the MLflow tracking server's REST API on Ansible's ``open_url`` (so the
modules need neither mlflow nor requests), and the connection argument spec documented by the
``onprem.mlflow.tracking_connection`` doc fragment.

Every option falls back to the environment variables the MLflow client reads (the stack writes
them into ``client.env``): MLFLOW_TRACKING_URI, MLFLOW_TRACKING_USERNAME, MLFLOW_TRACKING_PASSWORD,
MLFLOW_TRACKING_SERVER_CERT_PATH and MLFLOW_TRACKING_INSECURE_TLS (inverted into validate_certs).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import posixpath
import re
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlencode, urlsplit

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.module_utils.errors import AnsibleFallbackNotFound
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.module_utils.urls import open_url

ARTIFACTS_API = '/api/2.0/mlflow-artifacts/artifacts'


def insecure_tls_fallback(*names):
    """``validate_certs`` from MLFLOW_TRACKING_INSECURE_TLS: true there means do not verify."""
    for name in names:
        if name in os.environ:
            return not boolean(os.environ[name].strip() or 'false', strict=False)
    raise AnsibleFallbackNotFound


def tracking_argument_spec():
    return dict(
        tracking_uri=dict(type='str', fallback=(env_fallback, ['MLFLOW_TRACKING_URI'])),
        username=dict(type='str', fallback=(env_fallback, ['MLFLOW_TRACKING_USERNAME'])),
        password=dict(type='str', no_log=True, fallback=(env_fallback, ['MLFLOW_TRACKING_PASSWORD'])),
        ca_path=dict(type='path', fallback=(env_fallback, ['MLFLOW_TRACKING_SERVER_CERT_PATH'])),
        validate_certs=dict(type='bool', default=True,
                            fallback=(insecure_tls_fallback, ['MLFLOW_TRACKING_INSECURE_TLS'])),
        timeout=dict(type='int', default=60),
    )


class TrackingError(Exception):
    """A request to the tracking server failed.

    ``status`` is the HTTP status (None when no answer came), ``error_code`` MLflow's error code
    (``RESOURCE_DOES_NOT_EXIST`` ...) when the answer carried one.
    """

    def __init__(self, message, status=None, error_code=None):
        super().__init__(message)
        self.status = status
        self.error_code = error_code


_HINTS = {
    401: 'the tracking server refused the credentials: check username and password '
         '(MLFLOW_TRACKING_USERNAME, MLFLOW_TRACKING_PASSWORD)',
    403: 'the user may not do this on the tracking server',
}


def _answer_error(body):
    """MLflow's ``{"error_code": ..., "message": ...}`` from an error body, else (None, short text)."""
    text = to_text(body or b'', errors='surrogate_or_replace').strip()
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and ('error_code' in data or 'message' in data):
        return data.get('error_code'), to_text(data.get('message') or '')
    # An HTML page of the proxy: keep its title or the first line only.
    title = re.search(r'<title>(.*?)</title>', text, re.I | re.S)
    text = title.group(1).strip() if title else text.splitlines()[0] if text else ''
    return None, text[:200]


class TrackingClient(object):
    """REST calls to one tracking server. ``params``: the options of ``tracking_argument_spec``."""

    def __init__(self, params, opener=None):
        uri = (params.get('tracking_uri') or '').strip().rstrip('/')
        if not uri:
            raise TrackingError('tracking_uri is not set, nor is MLFLOW_TRACKING_URI: give the URL of the tracking '
                                'server (the stack\'s client.env sets MLFLOW_TRACKING_URI)')
        parts = urlsplit(uri)
        if parts.scheme not in ('http', 'https') or not parts.netloc:
            raise TrackingError('tracking_uri must be the http:// or https:// URL of the tracking server '
                                '(MLFLOW_TRACKING_URI), got %r' % (params.get('tracking_uri'),))
        if parts.username or parts.password:
            raise TrackingError('tracking_uri must not hold credentials: set username and password '
                                '(MLFLOW_TRACKING_USERNAME, MLFLOW_TRACKING_PASSWORD)')
        if params.get('password') and not params.get('username'):
            raise TrackingError('password is set but username is not (MLFLOW_TRACKING_USERNAME)')
        self.uri = uri
        self.netloc = parts.netloc
        self.params = params
        self._open = opener or open_url

    def _request(self, method, path, query=None, data=None, headers=None):
        """(status, body bytes) of a 2xx answer; TrackingError for anything else."""
        url = self.uri + path + ('?' + urlencode(sorted(query.items())) if query else '')
        params = self.params
        kwargs = dict(method=method, data=data, headers=headers or {}, timeout=params.get('timeout') or 60,
                      validate_certs=params.get('validate_certs', True), ca_path=params.get('ca_path'),
                      follow_redirects='none', use_netrc=False, http_agent='onprem.mlflow')
        if params.get('username'):
            kwargs.update(url_username=params['username'], url_password=params.get('password') or '',
                          force_basic_auth=True)
        try:
            response = self._open(url, **kwargs)
            return response.getcode(), response.read()
        except HTTPError as exc:
            try:
                body = exc.read()
            except Exception:  # pragma: no cover - a body that cannot be read
                body = b''
            error_code, message = _answer_error(body)
            where = '%s %s%s' % (method, self.uri, path)
            if exc.code in (301, 302, 307, 308):
                message = 'redirected to %s: use that URL as tracking_uri' % exc.headers.get('Location')
            detail = ': '.join(part for part in (error_code, message) if part)
            hint = _HINTS.get(exc.code)
            message = '%s answered HTTP %s' % (where, exc.code)
            message += ' (%s)' % detail if detail else ''
            message += '; ' + hint if hint else ''
            raise TrackingError(message, status=exc.code, error_code=error_code) from None
        except (URLError, OSError, ValueError) as exc:
            reason = getattr(exc, 'reason', exc)
            raise TrackingError('%s %s%s failed: %s' % (method, self.uri, path, to_native(reason))) from None

    def get_json(self, endpoint, query):
        """GET ``/api/2.0/mlflow/<endpoint>`` and return the decoded JSON object."""
        path = '/api/2.0/mlflow/' + endpoint
        body = self._request('GET', path, query=query)[1]
        try:
            return json.loads(to_text(body, errors='surrogate_or_strict'))
        except ValueError:
            raise TrackingError('GET %s%s did not answer JSON: %r' % (self.uri, path, body[:200])) from None

    def get_run(self, run_id):
        return self.get_json('runs/get', dict(run_id=run_id))['run']

    def get_experiment(self, experiment_id):
        return self.get_json('experiments/get', dict(experiment_id=experiment_id))['experiment']

    # --- proxied artifacts (mlflow server --serve-artifacts) ---------------------------------

    def artifact_root(self, artifact_uri):
        """The artifact API path of a run's ``mlflow-artifacts:`` artifact URI (no slashes around).

        ``mlflow-artifacts:/1/<run>/artifacts`` -> ``1/<run>/artifacts``. An URI naming another host
        than the tracking server's, and every other scheme, is refused: the module writes through
        the tracking server only.
        """
        parts = urlsplit(artifact_uri or '')
        if parts.scheme != 'mlflow-artifacts':
            raise TrackingError(
                'the run\'s artifact URI %r is not proxied by the tracking server (mlflow-artifacts:/...): '
                'only runs whose artifacts are served by the tracking server (mlflow server --serve-artifacts, '
                'as the stack runs it) can get a model card' % (artifact_uri,))
        if parts.netloc and parts.netloc != self.netloc:
            raise TrackingError('the run\'s artifact URI %r names the host %r, not the tracking server %r'
                                % (artifact_uri, parts.netloc, self.netloc))
        segments = [segment for segment in parts.path.split('/') if segment not in ('', '.')]
        if not segments or '..' in segments:
            raise TrackingError('the run\'s artifact URI %r has no usable path' % (artifact_uri,))
        return '/'.join(segments)

    def list_artifacts(self, path):
        """{name: size} of the files directly under ``path`` (directories left out)."""
        body = self._request('GET', ARTIFACTS_API, query=dict(path=path))[1]
        try:
            files = json.loads(to_text(body, errors='surrogate_or_strict')).get('files') or []
        except ValueError:
            raise TrackingError('listing the artifacts %r did not answer JSON: %r' % (path, body[:200])) from None
        return dict((posixpath.basename(f['path']), int(f.get('file_size') or 0))
                    for f in files if not f.get('is_dir'))

    def get_artifact(self, path):
        """The bytes of the artifact ``path``; None when the server answers 404."""
        try:
            return self._request('GET', ARTIFACTS_API + '/' + quote(path))[1]
        except TrackingError as exc:
            if exc.status == 404:
                return None
            raise

    def put_artifact(self, path, data, content_type):
        self._request('PUT', ARTIFACTS_API + '/' + quote(path), data=data, headers={'Content-Type': content_type})
