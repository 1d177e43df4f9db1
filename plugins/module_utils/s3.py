# -*- coding: utf-8 -*-
# Copyright: onprem.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared S3 pieces: connection argument spec (documented by the
``onprem.mlflow.s3_connection`` doc fragment), bucket name rules, the
bucket planner and the lifecycle rule planner (pure) and a boto3 client factory."""

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


# The one lifecycle rule s3_bucket manages; every other rule of the bucket is left as it is.
ABORT_MULTIPART_RULE_ID = 'onprem-mlflow-abort-incomplete-multipart'


def validate_abort_days(days):
    """``None`` (leave the lifecycle alone), ``0`` (remove our rule) or a number of days >= 1."""
    if days is not None and days < 0:
        raise ValueError('Invalid abort_incomplete_multipart_upload_days %r: must be 0 (remove the rule) '
                         'or a number of days >= 1' % (days,))
    return days


def abort_multipart_rule(days):
    """Our rule: abort every multipart upload of the bucket ``days`` days after it was started."""
    return dict(ID=ABORT_MULTIPART_RULE_ID, Status='Enabled', Filter=dict(Prefix=''),
                AbortIncompleteMultipartUpload=dict(DaysAfterInitiation=days))


def _rule_shape(rule):
    """``rule`` without empty values, an empty prefix written as ``Filter: {Prefix: ''}``."""
    shape = dict((key, value) for key, value in rule.items() if value not in (None, {}, []))
    if 'Filter' not in shape and shape.get('Prefix', '') == '':
        shape.pop('Prefix', None)
        shape['Filter'] = dict(Prefix='')
    return shape


def abort_multipart_days(rules):
    """Days of our rule in ``rules`` (a bucket's lifecycle rules, None when it has none).

    None when no rule has our ID, or when the rule with our ID is not exactly ours (disabled,
    limited to a prefix or tag, or with other actions): the planner then rewrites it.
    """
    for rule in rules or []:
        if rule.get('ID') != ABORT_MULTIPART_RULE_ID:
            continue
        days = (rule.get('AbortIncompleteMultipartUpload') or {}).get('DaysAfterInitiation')
        if isinstance(days, int) and days >= 1 and _rule_shape(rule) == abort_multipart_rule(days):
            return days
        return None
    return None


def plan_abort_multipart(rules, days):
    """Decide the bucket's lifecycle rules for ``days`` (None: leave alone, 0: remove our rule).

    ``rules``: the bucket's current lifecycle rules (None when it has no lifecycle configuration).
    Returns ``{'action': None|'set_abort_multipart_rule'|'remove_abort_multipart_rule',
    'rules': [...]}``; ``rules`` is what the lifecycle configuration must hold afterwards (other
    rules unchanged and in their order; empty: delete the configuration).
    """
    rules = list(rules or [])
    ours = [i for i, rule in enumerate(rules) if rule.get('ID') == ABORT_MULTIPART_RULE_ID]
    if days is None:
        return dict(action=None, rules=rules)
    if days == 0:
        if not ours:
            return dict(action=None, rules=rules)
        return dict(action='remove_abort_multipart_rule',
                    rules=[rule for rule in rules if rule.get('ID') != ABORT_MULTIPART_RULE_ID])
    if abort_multipart_days(rules) == days and len(ours) == 1:
        return dict(action=None, rules=rules)
    wanted = abort_multipart_rule(days)
    if ours:
        rules = [rule for i, rule in enumerate(rules) if i not in ours[1:]]
        rules[ours[0]] = wanted
    else:
        rules.append(wanted)
    return dict(action='set_abort_multipart_rule', rules=rules)


def plan_bucket(actual, wanted):
    """Decide what to do with a bucket.

    ``actual``: ``{'exists': bool, 'versioning': 'Enabled'|'Suspended'|None, 'empty': bool|None,
    'lifecycle_rules': [...]|None}`` (``lifecycle_rules`` read only when the rule is managed).
    ``wanted``: ``{'name', 'state', 'versioning': True|False|None, 'force': bool,
    'abort_incomplete_multipart_upload_days': int|None}``.

    Returns ``{'actions': [...], 'before': {...}, 'after': {...}, 'lifecycle_rules': [...]}``; an
    action is one of ``create``, ``enable_versioning``, ``suspend_versioning``,
    ``set_abort_multipart_rule``, ``remove_abort_multipart_rule``, ``empty``, ``delete``;
    ``lifecycle_rules`` are the rules to write for the last two (empty: delete the configuration).
    ``before``/``after`` have ``abort_incomplete_multipart_upload_days`` only when it is managed.
    Raises ValueError when a non-empty bucket would be deleted without ``force``.
    """
    name = wanted['name']
    before = dict(name=name, exists=bool(actual['exists']),
                  versioning=(actual.get('versioning') == 'Enabled') if actual['exists'] else None)
    days = wanted.get('abort_incomplete_multipart_upload_days')
    if days is not None:
        before['abort_incomplete_multipart_upload_days'] = (
            abort_multipart_days(actual.get('lifecycle_rules')) if actual['exists'] else None)
    after = dict(before)
    actions = []
    lifecycle_rules = None
    if wanted['state'] == 'absent':
        if actual['exists']:
            if actual.get('empty') is False:
                if not wanted.get('force'):
                    raise ValueError('Bucket %r is not empty; set force=true to delete its objects '
                                     '(every version) and the bucket' % name)
                actions.append('empty')
            actions.append('delete')
            after.update(exists=False, versioning=None)
            if days is not None:
                after['abort_incomplete_multipart_upload_days'] = None
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
        if days is not None:
            lifecycle = plan_abort_multipart(actual.get('lifecycle_rules') if actual['exists'] else None, days)
            if lifecycle['action']:
                actions.append(lifecycle['action'])
                lifecycle_rules = lifecycle['rules']
            after['abort_incomplete_multipart_upload_days'] = days or None
    return dict(actions=actions, before=before, after=after, lifecycle_rules=lifecycle_rules)


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
