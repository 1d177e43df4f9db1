# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.onprem.mlflow.plugins.modules import minio_config


def params(**kw):
    base = dict(endpoint_url='http://127.0.0.1:9000', access_key='root', secret_key='rootsecret', region='us-east-1',
                validate_certs=True, ca_bundle=None, subsystem='api', settings=dict(stale_uploads_expiry='24h'))
    base.update(kw)
    return base


def test_secret_key_is_hidden():
    assert minio_config.argument_spec()['secret_key']['no_log'] is True


def test_values_become_strings():
    wanted = minio_config.wanted_settings(params(settings=dict(requests_max=10, odirect=True, gzip_objects=False)))
    assert wanted == dict(requests_max='10', odirect='on', gzip_objects='off')


@pytest.mark.parametrize('kw, message', [
    (dict(subsystem='API'), 'Invalid subsystem'),
    (dict(settings={}), 'at least one'),
    (dict(settings={'Bad-Name': '1'}), 'Invalid setting name'),
    (dict(settings={'x': None}), 'must be a string'),
    (dict(settings={'x': [1]}), 'must be a string'),
])
def test_bad_parameters_are_refused(kw, message):
    with pytest.raises(ValueError, match=message):
        minio_config.wanted_settings(params(**kw))
