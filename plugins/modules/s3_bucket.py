#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: onprem.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: s3_bucket
short_description: Bucket and its versioning on an S3 API such as MinIO
description:
  - Creates or deletes a bucket on an S3-compatible server (written for MinIO) and sets its versioning.
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
actions:
  description: What was done (or would be done in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: [create, enable_versioning]
deleted_objects:
  description: Number of object versions and delete markers removed by O(force).
  returned: when the bucket was emptied
  type: int
  sample: 12
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib  # noqa: E402
from ansible.module_utils.common.text.converters import to_native  # noqa: E402

from ansible_collections.onprem.mlflow.plugins.module_utils.s3 import (  # noqa: E402
    BOTO3_IMPORT_ERROR,
    HAS_BOTO3,
    plan_bucket,
    s3_argument_spec,
    s3_client,
    validate_bucket_name,
)

if HAS_BOTO3:
    from botocore.exceptions import BotoCoreError, ClientError
else:  # pragma: no cover
    BotoCoreError = ClientError = Exception


def _error_code(exc):
    return exc.response.get('Error', {}).get('Code') if isinstance(exc, ClientError) else None


def read_bucket(client, name, need_emptiness):
    try:
        client.head_bucket(Bucket=name)
    except ClientError as exc:
        if _error_code(exc) in ('404', 'NoSuchBucket', 'NotFound'):
            return dict(exists=False, versioning=None, empty=None)
        raise
    versioning = client.get_bucket_versioning(Bucket=name).get('Status')
    empty = None
    if need_emptiness:
        listing = client.list_object_versions(Bucket=name, MaxKeys=1)
        empty = not (listing.get('Versions') or listing.get('DeleteMarkers'))
        if empty:
            uploads = client.list_multipart_uploads(Bucket=name, MaxUploads=1)
            empty = not uploads.get('Uploads')
    return dict(exists=True, versioning=versioning, empty=empty)


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


def apply(client, name, actions, region):
    deleted = None
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
        elif action == 'empty':
            deleted = empty_bucket(client, name)
        elif action == 'delete':
            client.delete_bucket(Bucket=name)
    return deleted


def main():
    spec = s3_argument_spec()
    spec.update(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        versioning=dict(type='bool'),
        force=dict(type='bool', default=False),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    params = module.params
    try:
        name = validate_bucket_name(params['name'])
    except ValueError as exc:
        module.fail_json(msg=to_native(exc))
    if not HAS_BOTO3:
        module.fail_json(msg=missing_required_lib('boto3'), exception=to_native(BOTO3_IMPORT_ERROR))

    wanted = dict(name=name, state=params['state'], versioning=params['versioning'], force=params['force'])
    result = dict(changed=False)
    try:
        client = s3_client(params)
        actual = read_bucket(client, name, need_emptiness=params['state'] == 'absent')
        decision = plan_bucket(actual, wanted)
        actions = decision['actions']
        result.update(changed=bool(actions), actions=actions, bucket=decision['after'])
        if actions and not module.check_mode:
            deleted = apply(client, name, actions, params['region'])
            if deleted is not None:
                result['deleted_objects'] = deleted
            now = read_bucket(client, name, need_emptiness=False)
            result['bucket'] = dict(name=name, exists=now['exists'],
                                    versioning=(now['versioning'] == 'Enabled') if now['exists'] else None)
        if module._diff:
            result['diff'] = dict(before=decision['before'], after=result['bucket'])
    except ValueError as exc:
        module.fail_json(msg=to_native(exc), **result)
    except (BotoCoreError, ClientError) as exc:
        module.fail_json(msg='S3 request to %s failed: %s' % (params['endpoint_url'], to_native(exc)), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
