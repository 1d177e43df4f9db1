# -*- coding: utf-8 -*-
"""onprem.mlflow.minio_user against a real MinIO. A missing MinIO FAILS these tests (never a skip).

What the user may do is checked with boto3 and the user's own keys, not by reading the module's answer.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess
import uuid

import boto3
import botocore.config
import botocore.exceptions
import pytest

from ansible_collections.onprem.mlflow.plugins.module_utils import minio_admin

MODULE = 'onprem.mlflow.minio_user'
SYSTEM_PYTHON = '/usr/bin/python3'


@pytest.fixture
def minio(services):
    if 'S3_ENDPOINT' not in services:
        pytest.fail('MinIO is not running: %s (set MINIO_BIN to a MinIO binary and rerun '
                    'tests/integration/services.sh start)' % services.get('MINIO_ERROR', 'no S3_ENDPOINT in env file'))
    return services


def client(endpoint, access_key, secret_key, verify=None):
    return boto3.client('s3', endpoint_url=endpoint, aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                        region_name='us-east-1', verify=verify,
                        config=botocore.config.Config(s3={'addressing_style': 'path'}, retries={'max_attempts': 1}))


@pytest.fixture
def root_s3(minio):
    return client(minio['S3_ENDPOINT'], minio['S3_ACCESS_KEY'], minio['S3_SECRET_KEY'])


@pytest.fixture
def admin(minio):
    """Read-only look-ups of the admin API (user-info, policy info) and the odd setup step."""
    return minio_admin.MinioAdmin(minio['S3_ENDPOINT'], minio['S3_ACCESS_KEY'], minio['S3_SECRET_KEY'])


@pytest.fixture
def conn(minio):
    return dict(endpoint_url=minio['S3_ENDPOINT'], access_key=minio['S3_ACCESS_KEY'],
                secret_key=minio['S3_SECRET_KEY'])


@pytest.fixture
def user(unique):
    return unique.replace('_', '-')


@pytest.fixture
def buckets(root_s3, user):
    """The artifact bucket and another bucket, both made with the root keys."""
    names = ('%s-art' % user, '%s-other' % user)
    for name in names:
        root_s3.create_bucket(Bucket=name)
    root_s3.put_object(Bucket=names[1], Key='secret.txt', Body=b'not for the user')
    return names


def secret():
    return 'sk-%s' % uuid.uuid4().hex


def error_code(call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except botocore.exceptions.ClientError as exc:
        return exc.response['Error']['Code']
    return None


def test_create_check_rerun_and_least_privilege(run, conn, minio, admin, root_s3, user, buckets):
    bucket, other = buckets
    key = secret()
    args = dict(conn, name=user, user_secret_key=key, policy_name=user + '-pol', bucket=bucket, prefix='artifacts')

    check = run(MODULE, args, check=True, diff=True)
    assert check['changed'] is True, check
    assert check['actions'] == ['create_policy', 'create_user', 'attach_policy']
    assert check['diff']['before']['exists'] is False and check['diff']['after']['exists'] is True
    assert check['user'] == dict(name=user, exists=True, status='enabled', policies=[user + '-pol'])
    assert admin.user_info(user) is None, 'check mode created the user'
    assert admin.policy_info(user + '-pol') is None, 'check mode created the policy'
    assert error_code(client(minio['S3_ENDPOINT'], user, key).list_buckets) == 'InvalidAccessKeyId'

    first = run(MODULE, args, diff=True)
    assert first['changed'] is True and first['actions'] == check['actions'], first
    assert first['user'] == check['user']
    assert first['policy']['document'] == minio_admin.normalize_policy(minio_admin.prefix_policy(bucket, 'artifacts'))
    for text in (key, minio['S3_SECRET_KEY']):
        assert text not in run.last_stdout
    assert admin.user_info(user)['policyName'] == user + '-pol'

    again = run(MODULE, args, diff=True)
    assert again['changed'] is False and again['actions'] == [], again
    assert again['diff']['before'] == again['diff']['after']
    assert run(MODULE, args, check=True)['changed'] is False

    own = client(minio['S3_ENDPOINT'], user, key)
    own.put_object(Bucket=bucket, Key='artifacts/1/run/model.pkl', Body=b'weights')
    assert own.get_object(Bucket=bucket, Key='artifacts/1/run/model.pkl')['Body'].read() == b'weights'
    listing = own.list_objects_v2(Bucket=bucket, Prefix='artifacts/1/')
    assert [o['Key'] for o in listing['Contents']] == ['artifacts/1/run/model.pkl']
    assert own.get_bucket_location(Bucket=bucket) is not None
    upload = own.create_multipart_upload(Bucket=bucket, Key='artifacts/big.bin')
    part = own.upload_part(Bucket=bucket, Key='artifacts/big.bin', UploadId=upload['UploadId'], PartNumber=1,
                           Body=b'x' * 1024)
    assert len(own.list_parts(Bucket=bucket, Key='artifacts/big.bin', UploadId=upload['UploadId'])['Parts']) == 1
    own.complete_multipart_upload(Bucket=bucket, Key='artifacts/big.bin', UploadId=upload['UploadId'],
                                  MultipartUpload={'Parts': [{'PartNumber': 1, 'ETag': part['ETag']}]})
    upload = own.create_multipart_upload(Bucket=bucket, Key='artifacts/aborted.bin')
    own.abort_multipart_upload(Bucket=bucket, Key='artifacts/aborted.bin', UploadId=upload['UploadId'])
    own.delete_object(Bucket=bucket, Key='artifacts/big.bin')

    # Same bucket outside the prefix, and another bucket: denied.
    assert error_code(own.put_object, Bucket=bucket, Key='elsewhere.txt', Body=b'x') == 'AccessDenied'
    assert error_code(own.put_object, Bucket=bucket, Key='artifactsX/a.txt', Body=b'x') == 'AccessDenied'
    assert error_code(own.list_objects_v2, Bucket=bucket) == 'AccessDenied'
    assert error_code(own.list_objects_v2, Bucket=bucket, Prefix='other/') == 'AccessDenied'
    assert error_code(own.list_objects_v2, Bucket=other) == 'AccessDenied'
    assert error_code(own.put_object, Bucket=other, Key='artifacts/a.txt', Body=b'x') == 'AccessDenied'
    assert error_code(own.get_object, Bucket=other, Key='secret.txt') == 'AccessDenied'
    assert error_code(own.create_bucket, Bucket=user + '-new') == 'AccessDenied'
    assert [b['Name'] for b in own.list_buckets().get('Buckets', [])] in ([], [bucket])


def test_wrong_secret_is_corrected(run, conn, minio, user):
    old, new = secret(), secret()
    args = dict(conn, name=user, policy_name='readwrite')
    assert run(MODULE, dict(args, user_secret_key=old))['changed'] is True

    check = run(MODULE, dict(args, user_secret_key=new), check=True, diff=True)
    assert check['changed'] is True and check['actions'] == ['set_secret'], check
    assert check['diff']['before']['secret_matches'] is False and check['diff']['after']['secret_matches'] is True
    client(minio['S3_ENDPOINT'], user, old).list_buckets()  # check mode kept the old secret key

    fixed = run(MODULE, dict(args, user_secret_key=new))
    assert fixed['changed'] is True and fixed['actions'] == ['set_secret']
    assert new not in run.last_stdout and old not in run.last_stdout
    client(minio['S3_ENDPOINT'], user, new).list_buckets()
    assert error_code(client(minio['S3_ENDPOINT'], user, old).list_buckets) == 'SignatureDoesNotMatch'
    assert run(MODULE, dict(args, user_secret_key=new))['changed'] is False


def test_policy_change_extra_policy_and_disabled_user(run, conn, minio, admin, user, buckets):
    bucket = buckets[0]
    key = secret()
    args = dict(conn, name=user, user_secret_key=key, policy_name=user + '-pol', bucket=bucket, prefix='a')
    run(MODULE, args)

    moved = run(MODULE, dict(args, prefix='b'), diff=True)
    assert moved['changed'] is True and moved['actions'] == ['update_policy'], moved
    assert moved['diff']['before']['policy']['document'] != moved['diff']['after']['policy']['document']
    own = client(minio['S3_ENDPOINT'], user, key)
    own.put_object(Bucket=bucket, Key='b/x', Body=b'x')
    assert error_code(own.put_object, Bucket=bucket, Key='a/x', Body=b'x') == 'AccessDenied'

    # Someone attaches readwrite: the next run takes it away again.
    admin.attach_policies(user, ['readwrite'])
    args['prefix'] = 'b'
    check = run(MODULE, args, check=True)
    assert check['changed'] is True and check['actions'] == ['detach_policies']
    assert minio_admin.parse_policy_names(admin.user_info(user)['policyName']) == sorted([user + '-pol', 'readwrite'])
    detached = run(MODULE, args)
    assert detached['changed'] is True and detached['user']['policies'] == [user + '-pol']
    assert error_code(own.put_object, Bucket=buckets[1], Key='b/x', Body=b'x') == 'AccessDenied'

    admin.request('PUT', 'set-user-status', dict(accessKey=user, status='disabled'))
    enabled = run(MODULE, args)
    assert enabled['changed'] is True and enabled['actions'] == ['enable_user', 'set_secret']
    assert enabled['user']['status'] == 'enabled'
    own.put_object(Bucket=bucket, Key='b/y', Body=b'y')
    assert run(MODULE, args)['changed'] is False


def test_own_policy_document(run, conn, minio, admin, user, buckets):
    bucket = buckets[0]
    document = {'Version': '2012-10-17', 'Statement': [
        {'Sid': 'read', 'Effect': 'Allow', 'Action': 's3:GetObject', 'Resource': 'arn:aws:s3:::%s/*' % bucket}]}
    args = dict(conn, name=user, user_secret_key=secret(), policy_name=user + '-read', policy=document)
    assert run(MODULE, args)['changed'] is True
    # Stored back with lists instead of strings: still the same policy.
    assert admin.policy_info(user + '-read')['Statement'][0]['Action'] == ['s3:GetObject']
    assert run(MODULE, args)['changed'] is False
    document['Statement'][0]['Action'] = ['s3:GetObject', 's3:PutObject']
    assert run(MODULE, args)['actions'] == ['update_policy']


def test_absent(run, conn, minio, admin, user):
    key = secret()
    run(MODULE, dict(conn, name=user, user_secret_key=key, policy_name='readwrite'))
    check = run(MODULE, dict(conn, name=user, state='absent'), check=True, diff=True)
    assert check['changed'] is True and check['actions'] == ['remove_user']
    assert check['diff']['after']['exists'] is False
    assert admin.user_info(user) is not None

    removed = run(MODULE, dict(conn, name=user, state='absent'))
    assert removed['changed'] is True and removed['user'] == dict(name=user, exists=False, status=None, policies=[])
    assert admin.user_info(user) is None
    assert error_code(client(minio['S3_ENDPOINT'], user, key).list_buckets) == 'InvalidAccessKeyId'
    assert run(MODULE, dict(conn, name=user, state='absent'))['changed'] is False


def test_missing_canned_policy_fails_without_change(run, conn, admin, user):
    result = run(MODULE, dict(conn, name=user, user_secret_key=secret(), policy_name=user + '-none'), check=True)
    assert result.get('failed') is True and 'does not exist' in result['msg']
    result = run(MODULE, dict(conn, name=user, user_secret_key=secret(), policy_name=user + '-none'))
    assert result.get('failed') is True
    assert admin.user_info(user) is None


@pytest.mark.parametrize('args, message', [
    (dict(name='ab'), 'Invalid user name'),
    (dict(user_secret_key='short'), 'Invalid user_secret_key'),
    (dict(policy_name='p', bucket='Bad_Name'), 'Invalid bucket name'),
])
def test_invalid_parameters_fail_before_any_request(run, conn, user, args, message):
    base = dict(conn, name=user, user_secret_key=secret(), endpoint_url='http://127.0.0.1:9')
    base.update(args)
    result = run(MODULE, base)
    assert result.get('failed') is True and message in result['msg'], result


def test_root_user_refused(run, conn, minio):
    result = run(MODULE, dict(conn, name=minio['S3_ACCESS_KEY'], user_secret_key=secret()))
    assert result.get('failed') is True and 'must not be the access key' in result['msg']


def test_wrong_root_credentials_fail_clearly(run, conn, user):
    result = run(MODULE, dict(conn, name=user, user_secret_key=secret(), secret_key='wrong-secret'))
    assert result.get('failed') is True and 'Request to' in result['msg'] and 'SignatureDoesNotMatch' in result['msg']


def test_pbkdf2_encryption_is_accepted(minio, user):
    """MinIO takes the PBKDF2 variant the module falls back to without argon2-cffi."""
    admin = minio_admin.MinioAdmin(minio['S3_ENDPOINT'], minio['S3_ACCESS_KEY'], minio['S3_SECRET_KEY'],
                                   algorithm=minio_admin.PBKDF2_AES_GCM)
    key = secret()
    admin.add_user(user, key)
    admin.attach_policies(user, ['readwrite'])
    assert admin.user_info(user)['policyName'] == 'readwrite'
    client(minio['S3_ENDPOINT'], user, key).list_buckets()
    admin.remove_user(user)


def test_debian_system_python(run, conn, minio, user, buckets):
    """The module on Debian's own python3 with Debian's packages (what the MinIO hosts have)."""
    probe = subprocess.run([SYSTEM_PYTHON, '-c', 'import argon2, boto3, cryptography'], capture_output=True,
                           text=True, check=False) if os.path.exists(SYSTEM_PYTHON) else None
    if probe is None or probe.returncode != 0:
        pytest.fail('%s lacks python3-boto3, python3-argon2 or python3-cryptography: run `make debs`\n%s'
                    % (SYSTEM_PYTHON, probe.stderr if probe else 'no such interpreter'))
    key = secret()
    args = dict(conn, name=user, user_secret_key=key, policy_name=user + '-pol', bucket=buckets[0], prefix='p')
    first = run(MODULE, args, python=SYSTEM_PYTHON)
    assert first['changed'] is True, first
    assert run(MODULE, args, python=SYSTEM_PYTHON)['changed'] is False
    client(minio['S3_ENDPOINT'], user, key).put_object(Bucket=buckets[0], Key='p/x', Body=b'x')


# --------------------------------------------------------------------------
# HTTPS with a CA of our own: a second MinIO serving TLS
# --------------------------------------------------------------------------

@pytest.fixture
def tls_minio(tmp_path, make_tls, spawn_minio):
    ca_path, cert, key = make_tls(str(tmp_path / 'tls'))
    # MinIO's --certs-dir layout: public.crt, private.key and CAs/.
    certs = str(tmp_path / 'tls' / 'certs')
    os.makedirs(os.path.join(certs, 'CAs'))
    shutil.copy(cert, os.path.join(certs, 'public.crt'))
    shutil.copy(key, os.path.join(certs, 'private.key'))
    server = spawn_minio([str(tmp_path / 'tls' / 'data')], certs=certs)
    return dict(server, ca=ca_path)


def test_https_endpoint_with_ca_bundle(run, tls_minio, user):
    key = secret()
    args = dict(endpoint_url=tls_minio['endpoint'], access_key=tls_minio['access_key'],
                secret_key=tls_minio['secret_key'], name=user, user_secret_key=key, policy_name='readwrite')

    untrusted = run(MODULE, args)
    assert untrusted.get('failed') is True and 'certificate' in untrusted['msg'].lower(), untrusted

    trusted = run(MODULE, dict(args, ca_bundle=tls_minio['ca']))
    assert trusted['changed'] is True and trusted['user']['policies'] == ['readwrite'], trusted
    assert run(MODULE, dict(args, ca_bundle=tls_minio['ca']))['changed'] is False
    assert run(MODULE, dict(args, validate_certs=False))['changed'] is False
    client(tls_minio['endpoint'], user, key, verify=tls_minio['ca']).list_buckets()
