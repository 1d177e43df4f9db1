#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: onprem.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: s3_bucket
short_description: Bucket, its versioning and a multipart upload lifecycle rule on an S3 API such as MinIO
description:
  - Creates or deletes a bucket on an S3-compatible server (written for MinIO) and sets its versioning.
  - Optionally manages one lifecycle rule of the bucket that aborts incomplete multipart uploads.
  - The bucket name is checked against the S3 naming rules before any request is sent.
  - The wanted state is compared with the actual one first; check mode reports the exact change without
    making it.
version_added: 0.1.0
author:
  - onprem.mlflow maintainers (@onprem-mlflow)
extends_documentation_fragment:
  - onprem.mlflow.s3_connection
  - onprem.mlflow.attributes
options:
  name:
    description:
      - Name of the bucket. 3 to 63 lowercase letters, digits, dots and hyphens, beginning and ending with a
        letter or digit, not shaped like an IP address.
    type: str
    required: true
  state:
    description:
      - V(present) creates the bucket when missing; V(absent) deletes it.
    type: str
    default: present
    choices: [present, absent]
  versioning:
    description:
      - V(true) enables versioning, V(false) suspends it when it is enabled.
      - When omitted (null) the versioning of the bucket is left as it is.
    type: bool
  force:
    description:
      - With O(state=absent), delete every object, object version, delete marker and unfinished multipart
        upload before deleting the bucket.
      - When V(false), deleting a bucket that is not empty fails and nothing is deleted.
    type: bool
    default: false
  abort_incomplete_multipart_upload_days:
    description:
      - Manages one lifecycle rule of the bucket, the one with the ID V(onprem-mlflow-abort-incomplete-multipart).
        Enabled for every key (empty prefix filter), it aborts a multipart upload (and deletes its parts)
        this many days after the upload was started.
      - V(1) or more sets the rule (created, or rewritten when it differs); V(0) removes the rule.
      - The other lifecycle rules of the bucket are kept as they are; when the rule was the last one the
        lifecycle configuration of the bucket is deleted.
      - When omitted (null) the lifecycle configuration of the bucket is left as it is and not read.
      - Ignored with O(state=absent).
      - After writing, the module reads the rule back and fails when the server did not keep it.
      - B(MinIO does not support this lifecycle action) (checked with the MinIO the roles deploy). It
        refuses a rule whose only action is C(AbortIncompleteMultipartUpload) with C(InvalidArgument), and
        the module then fails without changing the lifecycle. MinIO aborts incomplete multipart uploads of
        every bucket itself, after its C(api stale_uploads_expiry) (24 hours by default).
    type: int
    version_added: 0.3.0
seealso:
  - module: onprem.mlflow.sql_database
'''

EXAMPLES = r'''
- name: Artifact bucket with versioning on the local MinIO
  onprem.mlflow.s3_bucket:
    endpoint_url: http://127.0.0.1:9000
    access_key: "{{ minio_root_user }}"
    secret_key: "{{ minio_root_password }}"
    name: mlflow
    versioning: true
  no_log: true

- name: Bucket on a MinIO with a certificate from our own CA
  onprem.mlflow.s3_bucket:
    endpoint_url: https://minio.example.internal:9000
    access_key: "{{ minio_root_user }}"
    secret_key: "{{ minio_root_password }}"
    ca_bundle: /etc/ssl/certs/onprem-ca.pem
    name: mlflow

- name: Delete a scratch bucket and everything in it
  onprem.mlflow.s3_bucket:
    endpoint_url: http://127.0.0.1:9000
    access_key: "{{ minio_root_user }}"
    secret_key: "{{ minio_root_password }}"
    name: scratch
    state: absent
    force: true

- name: Abort multipart uploads left unfinished for 7 days (S3 servers that support the rule; not MinIO)
  onprem.mlflow.s3_bucket:
    endpoint_url: https://s3.example.internal
    access_key: "{{ s3_access_key }}"
    secret_key: "{{ s3_secret_key }}"
    name: mlflow
    abort_incomplete_multipart_upload_days: 7
  no_log: true

- name: Remove that rule again, keeping the other lifecycle rules of the bucket
  onprem.mlflow.s3_bucket:
    endpoint_url: https://s3.example.internal
    access_key: "{{ s3_access_key }}"
    secret_key: "{{ s3_secret_key }}"
    name: mlflow
    abort_incomplete_multipart_upload_days: 0
  no_log: true
'''

RETURN = r'''
bucket:
  description: The bucket after the run (predicted in check mode).
  returned: always
  type: dict
  contains:
    name:
      description: Name of the bucket.
      type: str
      sample: mlflow
    exists:
      description: Whether the bucket exists.
      type: bool
      sample: true
    versioning:
      description: Whether versioning is enabled; null when the bucket does not exist.
      type: bool
      sample: true
    abort_incomplete_multipart_upload_days:
      description:
        - Days after which the rule V(onprem-mlflow-abort-incomplete-multipart) aborts incomplete multipart
          uploads; null when the bucket does not exist or has no such rule (a rule with that ID that is
          disabled, limited to some keys or has other actions counts as none).
        - Also in the C(before) and C(after) of the diff.
      returned: when O(abort_incomplete_multipart_upload_days) is set
      type: int
      sample: 7
actions:
  description:
    - What was done (or would be done in check mode), in order.
    - C(set_abort_multipart_rule) and C(remove_abort_multipart_rule) write the lifecycle rule of
      O(abort_incomplete_multipart_upload_days).
  returned: always
  type: list
  elements: str
  sample: [create, enable_versioning, set_abort_multipart_rule]
deleted_objects:
  description: Number of object versions and delete markers removed by O(force).
  returned: when the bucket was emptied
  type: int
  sample: 12
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib  # noqa: E402
from ansible.module_utils.common.text.converters import to_native  # noqa: E402

from ansible_collections.onprem.mlflow.plugins.module_utils.s3 import (  # noqa: E402
    ABORT_MULTIPART_RULE_ID,
    BOTO3_IMPORT_ERROR,
    HAS_BOTO3,
    abort_multipart_days,
    plan_bucket,
    s3_argument_spec,
    s3_client,
    validate_abort_days,
    validate_bucket_name,
)

if HAS_BOTO3:
    from botocore.exceptions import BotoCoreError, ClientError
else:  # pragma: no cover
    BotoCoreError = ClientError = Exception


def _error_code(exc):
    return exc.response.get('Error', {}).get('Code') if isinstance(exc, ClientError) else None


def read_lifecycle(client, name):
    """The bucket's lifecycle configuration as ``{'Rules': [...], ...}``, None when it has none."""
    try:
        response = client.get_bucket_lifecycle_configuration(Bucket=name)
    except ClientError as exc:
        if _error_code(exc) == 'NoSuchLifecycleConfiguration':
            return None
        raise
    return dict((key, value) for key, value in response.items() if key != 'ResponseMetadata')


def read_bucket(client, name, need_emptiness, need_lifecycle=False):
    try:
        client.head_bucket(Bucket=name)
    except ClientError as exc:
        if _error_code(exc) in ('404', 'NoSuchBucket', 'NotFound'):
            return dict(exists=False, versioning=None, empty=None, lifecycle=None, lifecycle_rules=None)
        raise
    versioning = client.get_bucket_versioning(Bucket=name).get('Status')
    lifecycle = read_lifecycle(client, name) if need_lifecycle else None
    empty = None
    if need_emptiness:
        listing = client.list_object_versions(Bucket=name, MaxKeys=1)
        empty = not (listing.get('Versions') or listing.get('DeleteMarkers'))
        if empty:
            uploads = client.list_multipart_uploads(Bucket=name, MaxUploads=1)
            empty = not uploads.get('Uploads')
    return dict(exists=True, versioning=versioning, empty=empty, lifecycle=lifecycle,
                lifecycle_rules=lifecycle.get('Rules') if lifecycle else None)


def empty_bucket(client, name):
    """Delete every version, delete marker and multipart upload; return the count of versions."""
    deleted = 0
    paginator = client.get_paginator('list_object_versions')
    for page in paginator.paginate(Bucket=name, PaginationConfig={'PageSize': 1000}):
        objects = [dict(Key=v['Key'], VersionId=v['VersionId'])
                   for v in (page.get('Versions') or []) + (page.get('DeleteMarkers') or [])]
        if not objects:
            continue
        response = client.delete_objects(Bucket=name, Delete=dict(Objects=objects, Quiet=True))
        errors = response.get('Errors') or []
        if errors:
            raise ValueError('Could not delete %d object(s) of bucket %r, first: %s %s'
                             % (len(errors), name, errors[0].get('Key'), errors[0].get('Message')))
        deleted += len(objects)
    uploads = client.get_paginator('list_multipart_uploads')
    for page in uploads.paginate(Bucket=name):
        for upload in page.get('Uploads') or []:
            client.abort_multipart_upload(Bucket=name, Key=upload['Key'], UploadId=upload['UploadId'])
    return deleted


def write_lifecycle(client, name, rules, lifecycle):
    """Write ``rules`` as the bucket's lifecycle configuration (delete it when empty).

    ``lifecycle`` is the configuration read before: its bucket-wide settings are written back as read.
    """
    if not rules:
        client.delete_bucket_lifecycle(Bucket=name)
        return
    kwargs = dict(Bucket=name, LifecycleConfiguration=dict(Rules=rules))
    if lifecycle and lifecycle.get('TransitionDefaultMinimumObjectSize'):
        kwargs['TransitionDefaultMinimumObjectSize'] = lifecycle['TransitionDefaultMinimumObjectSize']
    try:
        client.put_bucket_lifecycle_configuration(**kwargs)
    except ClientError as exc:
        ours = any(rule.get('ID') == ABORT_MULTIPART_RULE_ID for rule in rules)
        if ours and _error_code(exc) in ('InvalidArgument', 'MalformedXML', 'NotImplemented', 'InvalidRequest'):
            # MinIO answers InvalidArgument ("The XML you provided was not well-formed ...").
            raise ValueError(
                'The S3 server refused the lifecycle rule %r of bucket %r (%s: %s); the lifecycle of the '
                'bucket is unchanged. MinIO does not support the lifecycle action AbortIncompleteMultipartUpload: '
                'it aborts incomplete multipart uploads of every bucket itself after its '
                'api stale_uploads_expiry (24h by default).'
                % (ABORT_MULTIPART_RULE_ID, name, _error_code(exc), exc.response.get('Error', {}).get('Message'))
            ) from exc
        raise


def apply(client, name, actions, region, lifecycle_rules=None, lifecycle=None, done=None):
    """Carry out ``actions`` in order; each one is appended to ``done`` once it succeeded."""
    deleted = None
    done = [] if done is None else done
    for action in actions:
        if action == 'create':
            kwargs = dict(Bucket=name)
            if region and region != 'us-east-1':
                kwargs['CreateBucketConfiguration'] = dict(LocationConstraint=region)
            client.create_bucket(**kwargs)
        elif action == 'enable_versioning':
            client.put_bucket_versioning(Bucket=name, VersioningConfiguration=dict(Status='Enabled'))
        elif action == 'suspend_versioning':
            client.put_bucket_versioning(Bucket=name, VersioningConfiguration=dict(Status='Suspended'))
        elif action in ('set_abort_multipart_rule', 'remove_abort_multipart_rule'):
            write_lifecycle(client, name, lifecycle_rules, lifecycle)
        elif action == 'empty':
            deleted = empty_bucket(client, name)
        elif action == 'delete':
            client.delete_bucket(Bucket=name)
        done.append(action)
    return deleted


def main():
    spec = s3_argument_spec()
    spec.update(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        versioning=dict(type='bool'),
        force=dict(type='bool', default=False),
        abort_incomplete_multipart_upload_days=dict(type='int'),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    params = module.params
    try:
        name = validate_bucket_name(params['name'])
        days = validate_abort_days(params['abort_incomplete_multipart_upload_days'])
    except ValueError as exc:
        module.fail_json(msg=to_native(exc))
    if not HAS_BOTO3:
        module.fail_json(msg=missing_required_lib('boto3'), exception=to_native(BOTO3_IMPORT_ERROR))

    # The lifecycle is managed (and read) only with state=present and the option set.
    if params['state'] == 'absent':
        days = None
    wanted = dict(name=name, state=params['state'], versioning=params['versioning'], force=params['force'],
                  abort_incomplete_multipart_upload_days=days)
    result = dict(changed=False)
    done = None
    try:
        client = s3_client(params)
        actual = read_bucket(client, name, need_emptiness=params['state'] == 'absent',
                             need_lifecycle=days is not None)
        decision = plan_bucket(actual, wanted)
        actions = decision['actions']
        result.update(changed=bool(actions), actions=actions, bucket=decision['after'])
        if actions and not module.check_mode:
            done = []
            deleted = apply(client, name, actions, params['region'], lifecycle_rules=decision['lifecycle_rules'],
                            lifecycle=actual['lifecycle'], done=done)
            if deleted is not None:
                result['deleted_objects'] = deleted
            now = read_bucket(client, name, need_emptiness=False, need_lifecycle=days is not None)
            result['bucket'] = dict(name=name, exists=now['exists'],
                                    versioning=(now['versioning'] == 'Enabled') if now['exists'] else None)
            if days is not None:
                kept = abort_multipart_days(now['lifecycle_rules']) if now['exists'] else None
                result['bucket']['abort_incomplete_multipart_upload_days'] = kept
                left = any(rule.get('ID') == ABORT_MULTIPART_RULE_ID for rule in now['lifecycle_rules'] or [])
                if kept != (days or None) or (days == 0 and left):
                    raise ValueError('Bucket %r: the S3 server accepted the lifecycle rule %r but did not keep '
                                     'it as written (read back: %r)'
                                     % (name, ABORT_MULTIPART_RULE_ID, now['lifecycle_rules']))
        if module._diff:
            result['diff'] = dict(before=decision['before'], after=result['bucket'])
    except (ValueError, BotoCoreError, ClientError) as exc:
        if done is not None and len(done) < len(result['actions']):
            # Failed part-way: report what was really done.
            result.update(changed=bool(done), actions=done)
        if isinstance(exc, ValueError):
            module.fail_json(msg=to_native(exc), **result)
        module.fail_json(msg='S3 request to %s failed: %s' % (params['endpoint_url'], to_native(exc)), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
