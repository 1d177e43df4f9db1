# -*- coding: utf-8 -*-
# Copyright: onprem.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared S3 pieces: connection argument spec (documented by the
``onprem.mlflow.s3_connection`` doc fragment), bucket name rules, the
bucket planner (pure) and a boto3 client factory."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

try:
    import boto3
    import botocore.config
    HAS_BOTO3 = True
    BOTO3_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - depends on the controller
    boto3 = None
    HAS_BOTO3 = False
    BOTO3_IMPORT_ERROR = exc


def s3_argument_spec():
    return dict(
        endpoint_url=dict(type='str', required=True),
        access_key=dict(type='str', required=True, no_log=False),
        secret_key=dict(type='str', required=True, no_log=True),
        region=dict(type='str', default='us-east-1'),
        validate_certs=dict(type='bool', default=True),
        ca_bundle=dict(type='path'),
    )


_BUCKET_CHARS = re.compile(r'^[a-z0-9.-]+$')
_IPV4 = re.compile(r'^\d{1,3}(\.\d{1,3}){3}$')
_RESERVED_PREFIXES = ('xn--', 'sthree-', 'amzn-s3-demo-')
_RESERVED_SUFFIXES = ('-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3')


def bucket_name_error(name):
    """Why ``name`` is not a valid S3 bucket name, or None when it is."""
    if not isinstance(name, str) or not name:
        return 'a bucket name must not be empty'
    if not 3 <= len(name) <= 63:
        return 'a bucket name must be 3 to 63 characters long (it has %d)' % len(name)
    if not _BUCKET_CHARS.match(name):
        return 'only lowercase letters, digits, dots and hyphens are allowed'
    if not (name[0].isalnum() and name[-1].isalnum()):
        return 'a bucket name must begin and end with a letter or a digit'
    if '..' in name or '.-' in name or '-.' in name:
        return 'dots must not be next to another dot or a hyphen'
    if _IPV4.match(name):
        return 'a bucket name must not look like an IP address'
    for prefix in _RESERVED_PREFIXES:
        if name.startswith(prefix):
            return 'the prefix %r is reserved' % prefix
    for suffix in _RESERVED_SUFFIXES:
        if name.endswith(suffix):
            return 'the suffix %r is reserved' % suffix
    return None


def validate_bucket_name(name):
    error = bucket_name_error(name)
    if error:
        raise ValueError('Invalid bucket name %r: %s' % (name, error))
    return name


def plan_bucket(actual, wanted):
    """Decide what to do with a bucket.

    ``actual``: ``{'exists': bool, 'versioning': 'Enabled'|'Suspended'|None, 'empty': bool|None}``.
    ``wanted``: ``{'name', 'state', 'versioning': True|False|None, 'force': bool}``.

    Returns ``{'actions': [...], 'before': {...}, 'after': {...}}``; an action is one of
    ``create``, ``enable_versioning``, ``suspend_versioning``, ``empty``, ``delete``.
    Raises ValueError when a non-empty bucket would be deleted without ``force``.
    """
    name = wanted['name']
    before = dict(name=name, exists=bool(actual['exists']),
                  versioning=(actual.get('versioning') == 'Enabled') if actual['exists'] else None)
    after = dict(before)
    actions = []
    if wanted['state'] == 'absent':
        if actual['exists']:
            if actual.get('empty') is False:
                if not wanted.get('force'):
                    raise ValueError('Bucket %r is not empty; set force=true to delete its objects '
                                     '(every version) and the bucket' % name)
                actions.append('empty')
            actions.append('delete')
            after.update(exists=False, versioning=None)
    else:
        versioning = wanted.get('versioning')
        if not actual['exists']:
            actions.append('create')
            after.update(exists=True, versioning=False)
        if versioning is True and not after['versioning']:
            actions.append('enable_versioning')
            after['versioning'] = True
        elif versioning is False and after['versioning']:
            actions.append('suspend_versioning')
            after['versioning'] = False
    return dict(actions=actions, before=before, after=after)


def s3_client(params):
    """boto3 S3 client for MinIO-like endpoints (path-style addressing, SigV4)."""
    verify = params['ca_bundle'] if params.get('ca_bundle') else bool(params.get('validate_certs', True))
    config = botocore.config.Config(
        signature_version='s3v4',
        s3={'addressing_style': 'path'},
        retries={'max_attempts': 3, 'mode': 'standard'},
        connect_timeout=10,
        read_timeout=60,
    )
    return boto3.client(
        's3',
        endpoint_url=params['endpoint_url'],
        aws_access_key_id=params['access_key'],
        aws_secret_access_key=params['secret_key'],
        region_name=params.get('region') or 'us-east-1',
        verify=verify,
        config=config,
    )
