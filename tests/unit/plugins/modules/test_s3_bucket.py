# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from botocore.exceptions import ClientError

from ansible_collections.onprem.mlflow.plugins.module_utils import s3
from ansible_collections.onprem.mlflow.plugins.modules import s3_bucket

FOREIGN = dict(ID='expire-tmp', Status='Enabled', Filter=dict(Prefix='tmp/'), Expiration=dict(Days=7))


def client_error(code, message='refused', operation='PutBucketLifecycleConfiguration'):
    return ClientError({'Error': {'Code': code, 'Message': message}}, operation)


class FakeClient(object):
    """Records the calls; ``answers`` maps a method name to a value to return or an exception to raise."""

    def __init__(self, **answers):
        self.answers = answers
        self.calls = []

    def __getattr__(self, name):
        def call(**kwargs):
            self.calls.append((name, kwargs))
            answer = self.answers.get(name)
            if isinstance(answer, Exception):
                raise answer
            return answer if answer is not None else {}
        return call


def test_read_lifecycle_none_when_the_bucket_has_none():
    client = FakeClient(get_bucket_lifecycle_configuration=client_error('NoSuchLifecycleConfiguration'))
    assert s3_bucket.read_lifecycle(client, 'b1') is None


def test_read_lifecycle_keeps_rules_and_settings_drops_metadata():
    client = FakeClient(get_bucket_lifecycle_configuration=dict(
        Rules=[FOREIGN], TransitionDefaultMinimumObjectSize='all_storage_classes_128K',
        ResponseMetadata=dict(HTTPStatusCode=200)))
    assert s3_bucket.read_lifecycle(client, 'b1') == dict(
        Rules=[FOREIGN], TransitionDefaultMinimumObjectSize='all_storage_classes_128K')


def test_read_lifecycle_other_errors_propagate():
    client = FakeClient(get_bucket_lifecycle_configuration=client_error('AccessDenied'))
    with pytest.raises(ClientError):
        s3_bucket.read_lifecycle(client, 'b1')


def test_read_bucket_reads_the_lifecycle_only_when_asked():
    client = FakeClient(get_bucket_versioning=dict(Status='Enabled'),
                        get_bucket_lifecycle_configuration=dict(Rules=[FOREIGN]))
    without = s3_bucket.read_bucket(client, 'b1', need_emptiness=False)
    assert without['lifecycle_rules'] is None
    assert 'get_bucket_lifecycle_configuration' not in [call[0] for call in client.calls]
    with_rules = s3_bucket.read_bucket(client, 'b1', need_emptiness=False, need_lifecycle=True)
    assert with_rules['lifecycle_rules'] == [FOREIGN]


def test_apply_writes_every_rule_and_the_settings_read():
    client = FakeClient()
    rules = [FOREIGN, s3.abort_multipart_rule(7)]
    done = []
    s3_bucket.apply(client, 'b1', ['create', 'set_abort_multipart_rule'], 'us-east-1', lifecycle_rules=rules,
                    lifecycle=dict(Rules=[FOREIGN], TransitionDefaultMinimumObjectSize='varies_by_storage_class'),
                    done=done)
    assert client.calls == [
        ('create_bucket', dict(Bucket='b1')),
        ('put_bucket_lifecycle_configuration', dict(
            Bucket='b1', LifecycleConfiguration=dict(Rules=rules),
            TransitionDefaultMinimumObjectSize='varies_by_storage_class')),
    ]
    assert done == ['create', 'set_abort_multipart_rule']


def test_apply_deletes_the_configuration_when_no_rule_is_left():
    client = FakeClient()
    s3_bucket.apply(client, 'b1', ['remove_abort_multipart_rule'], 'us-east-1', lifecycle_rules=[],
                    lifecycle=dict(Rules=[s3.abort_multipart_rule(7)]))
    assert client.calls == [('delete_bucket_lifecycle', dict(Bucket='b1'))]


def test_refused_rule_explains_minio_and_reports_what_was_done():
    # What MinIO answers to a rule whose only action is AbortIncompleteMultipartUpload.
    client = FakeClient(put_bucket_lifecycle_configuration=client_error(
        'InvalidArgument', 'The XML you provided was not well-formed or did not validate against our published schema'))
    done = []
    with pytest.raises(ValueError) as exc:
        s3_bucket.apply(client, 'b1', ['create', 'set_abort_multipart_rule'], 'us-east-1',
                        lifecycle_rules=[s3.abort_multipart_rule(7)], done=done)
    message = str(exc.value)
    assert "'onprem-mlflow-abort-incomplete-multipart'" in message and "'b1'" in message
    assert 'InvalidArgument' in message and 'stale_uploads_expiry' in message
    assert done == ['create']


def test_refused_removal_is_not_blamed_on_our_rule():
    client = FakeClient(put_bucket_lifecycle_configuration=client_error('InvalidArgument'))
    with pytest.raises(ClientError):
        s3_bucket.apply(client, 'b1', ['remove_abort_multipart_rule'], 'us-east-1', lifecycle_rules=[FOREIGN])
