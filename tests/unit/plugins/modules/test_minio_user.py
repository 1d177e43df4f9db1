# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.onprem.mlflow.plugins.module_utils import minio_admin
from ansible_collections.onprem.mlflow.plugins.modules import minio_user


def params(**kw):
    base = dict(endpoint_url='http://127.0.0.1:9000', access_key='root', secret_key='rootsecret',
                region='us-east-1', validate_certs=True, ca_bundle=None, name='mlflow',
                user_secret_key='mlflow-secret', state='present', policy_name=None, policy=None,
                bucket=None, prefix=None)
    base.update(kw)
    return base


def test_argument_spec_hides_secrets():
    spec = minio_user.argument_spec()
    assert spec['user_secret_key']['no_log'] is True
    assert spec['secret_key']['no_log'] is True
    assert spec['access_key']['no_log'] is False


def test_bucket_and_prefix_make_the_policy():
    wanted = minio_user.wanted_state(params(policy_name='p', bucket='mlflow', prefix='artifacts'))
    assert wanted['policy_document'] == minio_admin.prefix_policy('mlflow', 'artifacts')
    assert wanted['policy_name'] == 'p'


def test_policy_document_is_validated():
    with pytest.raises(ValueError, match='Version'):
        minio_user.wanted_state(params(policy_name='p', policy={'Statement': []}))


@pytest.mark.parametrize('kw, message', [
    (dict(name='ab'), 'Invalid user name'),
    (dict(name='root'), 'must not be the access key'),
    (dict(user_secret_key='short'), 'Invalid user_secret_key'),
    (dict(policy_name='a,b'), 'Invalid policy_name'),
    (dict(policy_name='p', bucket='Bad_Bucket'), 'Invalid bucket name'),
    (dict(policy_name='p', bucket='mlflow', prefix='a*'), 'Invalid prefix'),
])
def test_invalid_parameters(kw, message):
    with pytest.raises(ValueError, match=message):
        minio_user.wanted_state(params(**kw))


def test_absent_needs_no_secret_and_manages_no_policy():
    wanted = minio_user.wanted_state(params(state='absent', user_secret_key=None, policy_name='p', bucket='mlflow'))
    assert wanted['policy_document'] is None


def test_user_client_uses_the_users_own_keys():
    own = minio_user.user_client_params(params())
    assert own['access_key'] == 'mlflow' and own['secret_key'] == 'mlflow-secret'
    assert own['endpoint_url'] == 'http://127.0.0.1:9000'


class FakeAdmin(object):
    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return lambda *args: self.calls.append((name,) + args)


def test_apply_writes_the_user_once_and_in_order():
    admin = FakeAdmin()
    wanted = dict(name='mlflow', state='present', policy_name='p', policy_document={'Version': '2012-10-17'})
    plan = dict(actions=['update_policy', 'enable_user', 'set_secret', 'detach_policies', 'attach_policy'],
                detach=['readwrite'])
    minio_user.apply(admin, params(), wanted, plan)
    assert admin.calls == [
        ('set_policy', 'p', {'Version': '2012-10-17'}),
        ('add_user', 'mlflow', 'mlflow-secret'),
        ('detach_policies', 'mlflow', ['readwrite']),
        ('attach_policies', 'mlflow', ['p']),
    ]


def test_apply_remove():
    admin = FakeAdmin()
    minio_user.apply(admin, params(state='absent'), dict(name='mlflow', policy_name=None, policy_document=None),
                     dict(actions=['remove_user'], detach=[]))
    assert admin.calls == [('remove_user', 'mlflow')]
