# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.onprem.mlflow.plugins.modules import minio_heal


def params(**kw):
    base = dict(endpoint_url='http://127.0.0.1:9000', access_key='root', secret_key='rootsecret', region='us-east-1',
                validate_certs=True, ca_bundle=None, bucket=None, prefix=None, scan_mode='normal', remove=False,
                recursive=True, timeout=600, poll_interval=1.0)
    base.update(kw)
    return base


class FakeAdmin(object):
    """Answers heal calls as MinIO does: a token on start, then the polled statuses in order."""

    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.calls = []

    def heal(self, bucket='', prefix='', options=None, client_token=None, force_stop=False):
        self.calls.append(dict(bucket=bucket, prefix=prefix, options=options, client_token=client_token,
                               force_stop=force_stop))
        if force_stop:
            return {'clientToken': 't1'}
        if client_token is None:
            return {'clientToken': 't1', 'clientAddress': '127.0.0.1'}
        return self.statuses.pop(0)


class Clock(object):
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_secret_key_is_hidden():
    assert minio_heal.argument_spec()['secret_key']['no_log'] is True


@pytest.mark.parametrize('kw, message', [
    (dict(bucket='Bad_Bucket'), 'Invalid bucket name'),
    (dict(timeout=0), 'timeout'),
    (dict(poll_interval=0), 'poll_interval'),
])
def test_bad_parameters_are_refused_before_any_request(kw, message):
    with pytest.raises(ValueError, match=message):
        minio_heal.check_params(params(**kw))


def test_polls_until_the_end_and_keeps_every_item():
    admin = FakeAdmin([{'summary': 'running', 'items': [{'object': 'a'}]},
                       {'summary': 'running'},
                       {'Summary': 'finished', 'Items': [{'object': 'b'}]}])  # MinIO's own spelling
    clock = Clock()
    summary, detail, items = minio_heal.run_sequence(admin, params(bucket='mlflow', prefix='p'), True,
                                                     clock=clock, sleep=clock.sleep)
    assert (summary, detail, [i['object'] for i in items]) == ('finished', '', ['a', 'b'])
    start = admin.calls[0]
    assert start['client_token'] is None and start['options']['dryRun'] is True
    assert (start['bucket'], start['prefix']) == ('mlflow', 'p')
    assert [c['client_token'] for c in admin.calls[1:]] == ['t1', 't1', 't1']
    assert clock.now == 2.0


def test_a_stopped_sequence_returns_its_reason():
    admin = FakeAdmin([{'summary': 'stopped', 'detail': 'disk full'}])
    assert minio_heal.run_sequence(admin, params(), False, clock=Clock(), sleep=lambda s: None)[:2] == (
        'stopped', 'disk full')


def test_a_sequence_past_the_timeout_is_stopped():
    admin = FakeAdmin([{'summary': 'running'}] * 10)
    clock = Clock()
    with pytest.raises(TimeoutError, match='longer than 3 s'):
        minio_heal.run_sequence(admin, params(timeout=3), False, clock=clock, sleep=clock.sleep)
    assert admin.calls[-1]['force_stop'] is True


def test_no_token_is_an_error():
    class NoToken(FakeAdmin):
        def heal(self, *args, **kwargs):
            return {}
    with pytest.raises(ValueError, match='no heal sequence'):
        minio_heal.run_sequence(NoToken([]), params(), False)
