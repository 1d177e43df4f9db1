# -*- coding: utf-8 -*-
"""onprem.mlflow.minio_heal against a real four-drive (erasure-coded) MinIO. A missing MinIO FAILS these tests.

One drive's copy of an object is deleted on disk; what the module reports is checked against the drive.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil

import boto3
import botocore.config
import pytest

MODULE = 'onprem.mlflow.minio_heal'
SYSTEM_PYTHON = '/usr/bin/python3'


@pytest.fixture
def erasure(spawn_minio, tmp_path):
    drives = [str(tmp_path / ('drive%d' % i)) for i in range(1, 5)]
    server = spawn_minio(drives)
    s3 = boto3.client('s3', endpoint_url=server['endpoint'], aws_access_key_id=server['access_key'],
                      aws_secret_access_key=server['secret_key'], region_name='us-east-1',
                      config=botocore.config.Config(s3={'addressing_style': 'path'}))
    s3.create_bucket(Bucket='artifacts')
    s3.put_object(Bucket='artifacts', Key='runs/1/model.pkl', Body=b'weights' * 1000)
    s3.put_object(Bucket='artifacts', Key='runs/1/whole.txt', Body=b'never damaged')
    conn = dict(endpoint_url=server['endpoint'], access_key=server['access_key'], secret_key=server['secret_key'],
                poll_interval=0.2)
    return dict(server, drives=drives, s3=s3, conn=conn)


def object_dir(drive):
    # MinIO keeps an object as a directory named after its key, holding xl.meta (and its data parts).
    return os.path.join(drive, 'artifacts', 'runs', '1', 'model.pkl')


def test_check_heal_and_rerun(run, erasure):
    damaged = object_dir(erasure['drives'][1])
    assert os.path.isfile(os.path.join(damaged, 'xl.meta'))
    shutil.rmtree(damaged)

    check = run(MODULE, erasure['conn'], check=True, diff=True)
    assert check['changed'] is True, check
    assert check['needed'] == ['artifacts/runs/1/model.pkl'] and check['healed'] == [], check
    assert check['diff'] == dict(before=dict(lacking_copies=['artifacts/runs/1/model.pkl']),
                                 after=dict(lacking_copies=[]))
    assert check['offline_drives'] == [] and check['summary'] == 'finished'
    assert check['scanned'] >= 3  # MinIO's metadata, the bucket, both objects
    assert not os.path.exists(damaged), 'check mode wrote the copy back'

    healed = run(MODULE, erasure['conn'], diff=True)
    assert healed['changed'] is True and healed['healed'] == ['artifacts/runs/1/model.pkl'], healed
    assert healed['unhealed'] == []
    assert os.path.isfile(os.path.join(damaged, 'xl.meta')), 'the heal did not write the copy back'
    for text in (erasure['secret_key'],):
        assert text not in run.last_stdout

    again = run(MODULE, erasure['conn'], diff=True)
    assert again['changed'] is False and again['needed'] == [], again
    assert run(MODULE, erasure['conn'], check=True)['changed'] is False
    body = erasure['s3'].get_object(Bucket='artifacts', Key='runs/1/model.pkl')['Body'].read()
    assert body == b'weights' * 1000


def test_one_bucket_and_prefix_on_debian_python(run, erasure):
    """Bucket and prefix scope the heal; Debian's own python3 runs it, as on the MinIO hosts."""
    erasure['s3'].create_bucket(Bucket='other')
    erasure['s3'].put_object(Bucket='other', Key='x.txt', Body=b'x')
    shutil.rmtree(os.path.join(erasure['drives'][2], 'other', 'x.txt'))
    shutil.rmtree(object_dir(erasure['drives'][3]))

    scoped = run(MODULE, dict(erasure['conn'], bucket='artifacts', prefix='runs/1/'), python=SYSTEM_PYTHON)
    assert scoped['healed'] == ['artifacts/runs/1/model.pkl'], scoped
    assert not os.path.exists(os.path.join(erasure['drives'][2], 'other', 'x.txt')), 'healed outside the bucket'

    everything = run(MODULE, erasure['conn'], python=SYSTEM_PYTHON)
    assert everything['healed'] == ['other/x.txt'], everything


def test_bad_input_is_refused_before_any_request(run, erasure):
    bad = run(MODULE, dict(erasure['conn'], bucket='Not_A_Bucket'))
    assert bad.get('failed') is True and 'Invalid bucket name' in bad['msg'], bad
    wrong = run(MODULE, dict(erasure['conn'], secret_key='not-the-secret'))
    assert wrong.get('failed') is True and 'SignatureDoesNotMatch' in wrong['msg'], wrong
    assert 'not-the-secret' not in run.last_stdout
