# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.onprem.mlflow.plugins.module_utils import minio_config

ANSWER = '''# MINIO_API_STALE_UPLOADS_EXPIRY=12h
api requests_max=0 cors_allow_origin="https://a b" stale_uploads_expiry=24h stale_uploads_cleanup_interval=6h
api:other requests_max=5
'''


def test_parse_reads_the_default_target_and_the_overrides():
    settings, overrides = minio_config.parse_config(ANSWER, 'api')
    assert settings == dict(requests_max='0', cors_allow_origin='https://a b', stale_uploads_expiry='24h',
                            stale_uploads_cleanup_interval='6h')
    assert overrides == dict(MINIO_API_STALE_UPLOADS_EXPIRY='12h')
    assert minio_config.parse_config(ANSWER, 'scanner') == ({}, overrides)


def test_format_quotes_what_needs_it():
    line = minio_config.format_line('api', dict(b='x y', a='1', c='', d='say "hi"'))
    assert line == 'api a=1 b="x y" c="" d="say \\"hi\\""'
    assert minio_config.parse_config(line, 'api')[0] == dict(a='1', b='x y', c='', d='say "hi"')


def test_plan_changes_only_what_differs():
    settings, overrides = minio_config.parse_config(ANSWER, 'api')
    plan = minio_config.plan_config('api', settings, {}, dict(stale_uploads_expiry='24h', requests_max='10'))
    assert plan == dict(change=dict(requests_max='10'), before=dict(stale_uploads_expiry='24h', requests_max='0'),
                        after=dict(stale_uploads_expiry='24h', requests_max='10'))


def test_plan_refuses_unknown_names_and_overridden_settings():
    settings, overrides = minio_config.parse_config(ANSWER, 'api')
    with pytest.raises(ValueError, match='no setting nope'):
        minio_config.plan_config('api', settings, overrides, dict(nope='1'))
    with pytest.raises(ValueError, match='MINIO_API_STALE_UPLOADS_EXPIRY'):
        minio_config.plan_config('api', settings, overrides, dict(stale_uploads_expiry='36h'))
    # The environment already says what is wanted: nothing to refuse.
    assert minio_config.plan_config('api', settings, overrides, dict(stale_uploads_expiry='12h'))['change'] == dict(
        stale_uploads_expiry='12h')


@pytest.mark.parametrize('name', ['API', 'a-b', '', 'a b'])
def test_names_are_checked(name):
    assert minio_config.subsystem_error(name) is not None
    assert minio_config.key_error(name) is not None
