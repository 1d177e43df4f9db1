# -*- coding: utf-8 -*-
"""onprem.mlflow.minio_config against a real MinIO. A missing MinIO FAILS these tests.

What MinIO holds is read back with the admin client, not from the module's answer.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.onprem.mlflow.plugins.module_utils import minio_admin, minio_config

MODULE = 'onprem.mlflow.minio_config'
SYSTEM_PYTHON = '/usr/bin/python3'


@pytest.fixture
def server(spawn_minio, tmp_path):
    started = spawn_minio([str(tmp_path / 'data')], env=dict(MINIO_SCANNER_SPEED='slow'))
    started['admin'] = minio_admin.MinioAdmin(started['endpoint'], started['access_key'], started['secret_key'])
    started['conn'] = dict(endpoint_url=started['endpoint'], access_key=started['access_key'],
                           secret_key=started['secret_key'])
    return started


def stored(server, subsystem='api'):
    return minio_config.parse_config(server['admin'].get_config(subsystem), subsystem)[0]


def test_check_set_and_rerun(run, server):
    wanted = dict(stale_uploads_expiry='36h', stale_uploads_cleanup_interval='2h')
    args = dict(server['conn'], subsystem='api', settings=wanted)
    before = stored(server)
    assert (before['stale_uploads_expiry'], before['stale_uploads_cleanup_interval']) == ('24h', '6h')

    check = run(MODULE, args, check=True, diff=True)
    assert check['changed'] is True and check['changed_settings'] == sorted(wanted), check
    assert check['diff'] == dict(before=dict(stale_uploads_expiry='24h', stale_uploads_cleanup_interval='6h'),
                                 after=wanted)
    assert stored(server)['stale_uploads_expiry'] == '24h', 'check mode changed the configuration'

    first = run(MODULE, args, diff=True)
    assert first['changed'] is True and first['restart_required'] is False, first
    assert first['settings'] == wanted
    assert server['secret_key'] not in run.last_stdout
    after = stored(server)
    assert (after['stale_uploads_expiry'], after['stale_uploads_cleanup_interval']) == ('36h', '2h')
    assert after['requests_max'] == before['requests_max'], 'a setting not named was changed'

    again = run(MODULE, args, diff=True)
    assert again['changed'] is False and again['changed_settings'] == [], again
    assert run(MODULE, args, check=True)['changed'] is False


def test_values_with_spaces_and_debian_python(run, server):
    origins = 'https://a.example,https://b.example'
    args = dict(server['conn'], subsystem='api', settings=dict(cors_allow_origin=origins, list_quorum='optimal'))
    assert run(MODULE, args, python=SYSTEM_PYTHON)['changed'] is True
    assert stored(server)['cors_allow_origin'] == origins
    assert run(MODULE, args, python=SYSTEM_PYTHON)['changed'] is False


def test_refusals_before_any_change(run, server):
    unknown = run(MODULE, dict(server['conn'], subsystem='api', settings=dict(no_such_setting='1')))
    assert unknown.get('failed') is True and 'no setting no_such_setting' in unknown['msg'], unknown
    # The server's environment sets the scanner speed: a configured value would never take effect.
    env = run(MODULE, dict(server['conn'], subsystem='scanner', settings=dict(speed='fast')))
    assert env.get('failed') is True and 'MINIO_SCANNER_SPEED' in env['msg'], env
    assert stored(server, 'scanner')['speed'] == 'default'
    bad = run(MODULE, dict(server['conn'], subsystem='API', settings=dict(x='1')))
    assert bad.get('failed') is True and 'Invalid subsystem' in bad['msg'], bad
