# -*- coding: utf-8 -*-
"""onprem.mlflow.s3_bucket against a real MinIO. A missing MinIO FAILS these tests (never a skip)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import boto3
import botocore.config
import botocore.exceptions
import pytest

MODULE = 'onprem.mlflow.s3_bucket'


@pytest.fixture
def minio(services):
    if 'S3_ENDPOINT' not in services:
        pytest.fail('MinIO is not running: %s (set MINIO_BIN to a MinIO binary and rerun '
                    'tests/integration/services.sh start)' % services.get('MINIO_ERROR', 'no S3_ENDPOINT in env file'))
    return services


@pytest.fixture
def s3(minio):
    return boto3.client('s3', endpoint_url=minio['S3_ENDPOINT'], aws_access_key_id=minio['S3_ACCESS_KEY'],
                        aws_secret_access_key=minio['S3_SECRET_KEY'], region_name='us-east-1',
                        config=botocore.config.Config(s3={'addressing_style': 'path'}))


@pytest.fixture
def conn(minio):
    return dict(endpoint_url=minio['S3_ENDPOINT'], access_key=minio['S3_ACCESS_KEY'],
                secret_key=minio['S3_SECRET_KEY'])


@pytest.fixture
def bucket(unique):
    return unique.replace('_', '-')


def exists(s3, name):
    try:
        s3.head_bucket(Bucket=name)
        return True
    except botocore.exceptions.ClientError:
        return False


def versioning(s3, name):
    return s3.get_bucket_versioning(Bucket=name).get('Status')


def test_create_with_versioning_then_idempotent(run, conn, s3, bucket, minio):
    check = run(MODULE, dict(conn, name=bucket, versioning=True), check=True, diff=True)
    assert check['changed'] is True and check['actions'] == ['create', 'enable_versioning']
    assert check['diff']['before'] == dict(name=bucket, exists=False, versioning=None)
    assert check['diff']['after'] == dict(name=bucket, exists=True, versioning=True)
    assert not exists(s3, bucket)

    first = run(MODULE, dict(conn, name=bucket, versioning=True))
    assert first['changed'] is True and first['bucket'] == dict(name=bucket, exists=True, versioning=True)
    assert minio['S3_SECRET_KEY'] not in run.last_stdout
    assert exists(s3, bucket) and versioning(s3, bucket) == 'Enabled'

    again = run(MODULE, dict(conn, name=bucket, versioning=True))
    assert again['changed'] is False and again['actions'] == []
    assert run(MODULE, dict(conn, name=bucket))['changed'] is False, 'versioning omitted: left as is'


def test_versioning_suspend(run, conn, s3, bucket):
    run(MODULE, dict(conn, name=bucket, versioning=True))
    check = run(MODULE, dict(conn, name=bucket, versioning=False), check=True)
    assert check['changed'] is True and check['actions'] == ['suspend_versioning']
    assert versioning(s3, bucket) == 'Enabled'
    result = run(MODULE, dict(conn, name=bucket, versioning=False))
    assert result['changed'] is True and result['bucket']['versioning'] is False
    assert versioning(s3, bucket) == 'Suspended'
    assert run(MODULE, dict(conn, name=bucket, versioning=False))['changed'] is False


def test_absent_refuses_non_empty_then_force(run, conn, s3, bucket):
    run(MODULE, dict(conn, name=bucket, versioning=True))
    s3.put_object(Bucket=bucket, Key='a/b.txt', Body=b'one')
    s3.put_object(Bucket=bucket, Key='a/b.txt', Body=b'two')
    s3.delete_object(Bucket=bucket, Key='a/b.txt')          # leaves a delete marker and two versions
    s3.create_multipart_upload(Bucket=bucket, Key='big')

    refused = run(MODULE, dict(conn, name=bucket, state='absent'))
    assert refused.get('failed') is True and 'not empty' in refused['msg'] and bucket in refused['msg']
    assert exists(s3, bucket)

    check = run(MODULE, dict(conn, name=bucket, state='absent', force=True), check=True)
    assert check['changed'] is True and check['actions'] == ['empty', 'delete']
    listing = s3.list_object_versions(Bucket=bucket)
    assert len(listing['Versions']) == 2 and len(listing['DeleteMarkers']) == 1

    forced = run(MODULE, dict(conn, name=bucket, state='absent', force=True))
    assert forced['changed'] is True and forced['deleted_objects'] == 3
    assert forced['bucket'] == dict(name=bucket, exists=False, versioning=None)
    assert not exists(s3, bucket)
    assert run(MODULE, dict(conn, name=bucket, state='absent'))['changed'] is False


def test_absent_empty_bucket_without_force(run, conn, s3, bucket):
    run(MODULE, dict(conn, name=bucket))
    result = run(MODULE, dict(conn, name=bucket, state='absent'))
    assert result['changed'] is True and result['actions'] == ['delete']
    assert not exists(s3, bucket)


@pytest.mark.parametrize('name', ['Bad_Name', 'ab', '192.168.0.1', 'a..b'])
def test_invalid_name_fails_before_any_request(run, conn, name):
    # An unreachable endpoint proves the name is rejected before any call.
    result = run(MODULE, dict(conn, name=name, endpoint_url='http://127.0.0.1:9'))
    assert result.get('failed') is True
    assert result['msg'].startswith('Invalid bucket name %r' % name)


def test_wrong_credentials_fail_clearly(run, conn, bucket):
    result = run(MODULE, dict(conn, name=bucket, secret_key='wrong-secret'))
    assert result.get('failed') is True and 'S3 request to' in result['msg']


# --- abort_incomplete_multipart_upload_days ---------------------------------------------------
# MinIO does not support the lifecycle action AbortIncompleteMultipartUpload: its rule validation
# (internal/bucket/lifecycle/rule.go) wants Expiration, Transition, NoncurrentVersion* or
# DelMarkerExpiration and answers InvalidArgument. These tests pin that down, and prove on the real
# server that the module plans from reads only, never half-writes a lifecycle, and removes a rule
# with its ID while keeping the others.

OUR_RULE = 'onprem-mlflow-abort-incomplete-multipart'
FOREIGN_RULE = dict(ID='expire-tmp', Status='Enabled', Filter=dict(Prefix='tmp/'), Expiration=dict(Days=7))


def lifecycle(s3, name):
    """The bucket's lifecycle rules as MinIO returns them; None when it has no lifecycle configuration."""
    try:
        return s3.get_bucket_lifecycle_configuration(Bucket=name)['Rules']
    except botocore.exceptions.ClientError as exc:
        if exc.response['Error']['Code'] == 'NoSuchLifecycleConfiguration':
            return None
        raise


def test_minio_refuses_an_abort_multipart_rule_itself(s3, bucket):
    # The server, without the module: an abort-only rule is refused, whatever the filter.
    s3.create_bucket(Bucket=bucket)
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=dict(Rules=[dict(
            ID=OUR_RULE, Status='Enabled', Filter=dict(Prefix=''),
            AbortIncompleteMultipartUpload=dict(DaysAfterInitiation=7))]))
    assert exc.value.response['Error']['Code'] == 'InvalidArgument'
    assert lifecycle(s3, bucket) is None


def test_abort_rule_check_mode_plans_without_writing(run, conn, s3, bucket):
    check = run(MODULE, dict(conn, name=bucket, versioning=True, abort_incomplete_multipart_upload_days=7),
                check=True, diff=True)
    assert check['changed'] is True
    assert check['actions'] == ['create', 'enable_versioning', 'set_abort_multipart_rule']
    assert check['diff']['before'] == dict(name=bucket, exists=False, versioning=None,
                                           abort_incomplete_multipart_upload_days=None)
    assert check['diff']['after'] == dict(name=bucket, exists=True, versioning=True,
                                          abort_incomplete_multipart_upload_days=7)
    assert check['bucket']['abort_incomplete_multipart_upload_days'] == 7
    assert not exists(s3, bucket)

    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=dict(Rules=[FOREIGN_RULE]))
    check = run(MODULE, dict(conn, name=bucket, abort_incomplete_multipart_upload_days=3), check=True, diff=True)
    assert check['changed'] is True and check['actions'] == ['set_abort_multipart_rule']
    assert check['diff']['before']['abort_incomplete_multipart_upload_days'] is None
    assert check['diff']['after']['abort_incomplete_multipart_upload_days'] == 3
    assert lifecycle(s3, bucket) == [FOREIGN_RULE]


def test_abort_rule_refused_by_minio_fails_and_keeps_the_lifecycle(run, conn, s3, bucket):
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=dict(Rules=[FOREIGN_RULE]))
    result = run(MODULE, dict(conn, name=bucket, abort_incomplete_multipart_upload_days=7))
    assert result.get('failed') is True
    assert OUR_RULE in result['msg'] and 'InvalidArgument' in result['msg']
    assert 'stale_uploads_expiry' in result['msg']
    assert result['changed'] is False and result['actions'] == []
    assert lifecycle(s3, bucket) == [FOREIGN_RULE]


def test_abort_rule_refused_on_a_new_bucket_reports_the_create(run, conn, s3, bucket):
    result = run(MODULE, dict(conn, name=bucket, abort_incomplete_multipart_upload_days=1))
    assert result.get('failed') is True and OUR_RULE in result['msg']
    assert result['changed'] is True and result['actions'] == ['create']
    assert exists(s3, bucket) and lifecycle(s3, bucket) is None
    # The next run has only the rule left to do, and is refused the same way.
    again = run(MODULE, dict(conn, name=bucket, abort_incomplete_multipart_upload_days=1))
    assert again.get('failed') is True and again['changed'] is False
    assert lifecycle(s3, bucket) is None


def test_abort_rule_zero_removes_our_rule_keeps_the_foreign_one(run, conn, s3, bucket):
    # A rule with our ID that MinIO does keep (Expiration): days=0 removes whatever has our ID.
    ours = dict(ID=OUR_RULE, Status='Enabled', Filter=dict(Prefix=''), Expiration=dict(Days=30))
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=dict(Rules=[FOREIGN_RULE, ours]))
    assert [rule['ID'] for rule in lifecycle(s3, bucket)] == ['expire-tmp', OUR_RULE]

    check = run(MODULE, dict(conn, name=bucket, abort_incomplete_multipart_upload_days=0), check=True, diff=True)
    assert check['changed'] is True and check['actions'] == ['remove_abort_multipart_rule']
    assert check['diff']['after']['abort_incomplete_multipart_upload_days'] is None
    assert [rule['ID'] for rule in lifecycle(s3, bucket)] == ['expire-tmp', OUR_RULE]

    removed = run(MODULE, dict(conn, name=bucket, abort_incomplete_multipart_upload_days=0), diff=True)
    assert removed['changed'] is True and removed['actions'] == ['remove_abort_multipart_rule']
    assert removed['bucket']['abort_incomplete_multipart_upload_days'] is None
    assert lifecycle(s3, bucket) == [FOREIGN_RULE]

    again = run(MODULE, dict(conn, name=bucket, abort_incomplete_multipart_upload_days=0))
    assert again['changed'] is False and again['actions'] == []
    assert lifecycle(s3, bucket) == [FOREIGN_RULE]


def test_abort_rule_zero_deletes_the_configuration_with_the_last_rule(run, conn, s3, bucket):
    ours = dict(ID=OUR_RULE, Status='Enabled', Filter=dict(Prefix=''), Expiration=dict(Days=30))
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=dict(Rules=[ours]))
    result = run(MODULE, dict(conn, name=bucket, abort_incomplete_multipart_upload_days=0))
    assert result['changed'] is True and result['actions'] == ['remove_abort_multipart_rule']
    assert lifecycle(s3, bucket) is None
    assert run(MODULE, dict(conn, name=bucket, abort_incomplete_multipart_upload_days=0))['changed'] is False


def test_abort_rule_omitted_leaves_the_lifecycle_alone(run, conn, s3, bucket):
    ours = dict(ID=OUR_RULE, Status='Enabled', Filter=dict(Prefix=''), Expiration=dict(Days=30))
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=dict(Rules=[FOREIGN_RULE, ours]))
    result = run(MODULE, dict(conn, name=bucket, versioning=True), diff=True)
    assert result['changed'] is True and result['actions'] == ['enable_versioning']
    assert 'abort_incomplete_multipart_upload_days' not in result['bucket']
    assert 'abort_incomplete_multipart_upload_days' not in result['diff']['before']
    assert [rule['ID'] for rule in lifecycle(s3, bucket)] == ['expire-tmp', OUR_RULE]


def test_abort_rule_negative_days_fail_before_any_request(run, conn):
    result = run(MODULE, dict(conn, name='valid-name', endpoint_url='http://127.0.0.1:9',
                              abort_incomplete_multipart_upload_days=-1))
    assert result.get('failed') is True
    assert result['msg'].startswith('Invalid abort_incomplete_multipart_upload_days -1')
