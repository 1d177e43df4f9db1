#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: onprem.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: minio_heal
short_description: Heal a distributed MinIO deployment and report what was written back
description:
  - Runs a heal sequence of MinIO's admin API (C(/minio/admin/v3/heal)) over the whole deployment, one bucket
    or a key prefix in it, and polls it until it ends. MinIO compares every item (its own metadata, buckets,
    object versions) on all drives of its erasure set and writes back the copies a drive lacks.
  - An object written while a server was down lacks that server's shards until it is healed. Heal after a
    server comes back and before another one goes down (a rolling restart), or the next outage can leave such
    objects without read quorum.
  - Reports C(changed) when a copy was written back. In check mode the same sequence runs as MinIO's dry run,
    which reads only and reports exactly the items a real run would heal.
  - Fails when MinIO stops the sequence, when the sequence outlasts O(timeout) (it is stopped then), or when
    an item still lacks a copy on a drive that answered after a real run. Drives that did not answer
    (offline) are returned in RV(offline_drives) and do not fail the module; retry until that list is empty
    when every drive must be healed.
version_added: 0.3.0
author:
  - onprem.mlflow maintainers (@onprem-mlflow)
extends_documentation_fragment:
  - onprem.mlflow.s3_connection
  - onprem.mlflow.attributes
options:
  bucket:
    description:
      - Heal this bucket only. When omitted, MinIO's own metadata and every bucket are healed.
    type: str
  prefix:
    description:
      - Heal the objects under this key prefix of O(bucket) only.
    type: str
  scan_mode:
    description:
      - V(normal) checks that every drive has each part of the item, in its current version.
      - V(deep) also reads every part and checks its bitrot checksum (slow, as it reads all data).
    type: str
    default: normal
    choices: [normal, deep]
  recursive:
    description:
      - Heal every object below the scope. V(false) heals the scope itself only (MinIO's own metadata, or
        the bucket), which in check mode is a quick look at the drives the server reaches (RV(offline_drives)).
    type: bool
    default: true
  remove:
    description:
      - Remove dangling objects, which lack so many shards that they can never be read again.
    type: bool
    default: false
  timeout:
    description:
      - Seconds the sequence may run. Past it the module stops the sequence and fails.
    type: int
    default: 600
  poll_interval:
    description:
      - Seconds between two polls of the sequence. MinIO holds back its results while they are not
        fetched, so the module polls until the end.
    type: float
    default: 1.0
notes:
  - Run the module on a MinIO host against its local endpoint, so the admin API is not exposed, with the
    root (or an admin) account.
  - A heal of a deployment without erasure coding (one drive) is refused by MinIO.
  - "Needs botocore on the host (Debian: C(python3-boto3))."
requirements:
  - botocore (boto3)
seealso:
  - module: onprem.mlflow.s3_bucket
  - module: onprem.mlflow.minio_user
'''

EXAMPLES = r'''
- name: Heal the deployment after a server came back, until every drive answered
  onprem.mlflow.minio_heal:
    endpoint_url: https://127.0.0.1:9000
    ca_bundle: /usr/local/share/ca-certificates/onprem-ca.crt
    access_key: "{{ minio_root_user }}"
    secret_key: "{{ minio_root_password }}"
  register: heal
  until: heal is succeeded and heal.offline_drives | length == 0
  retries: 10
  delay: 3
  no_log: true

- name: What a heal of the artifact bucket would write back (nothing is written)
  onprem.mlflow.minio_heal:
    endpoint_url: http://127.0.0.1:9000
    access_key: "{{ minio_root_user }}"
    secret_key: "{{ minio_root_password }}"
    bucket: mlflow
  check_mode: true
  no_log: true
'''

RETURN = r'''
scanned:
  description: Number of items (metadata, buckets, object versions) the sequence looked at.
  returned: success
  type: int
  sample: 412
needed:
  description: Items that lacked a copy on a drive that answered (before the heal).
  returned: success
  type: list
  elements: str
  sample: [mlflow/artifacts/1/4f2c/artifacts/model.pkl]
healed:
  description: Items written back by this run (empty in check mode).
  returned: success
  type: list
  elements: str
  sample: [mlflow/artifacts/1/4f2c/artifacts/model.pkl]
unhealed:
  description: Items that still lacked a copy on a drive that answered after the heal (the module fails then).
  returned: always
  type: list
  elements: str
  sample: []
offline_drives:
  description: Endpoints of the drives that did not answer during the sequence.
  returned: success
  type: list
  elements: str
  sample: [https://10.0.0.12:9000/srv/minio/disk1]
summary:
  description: How the sequence ended (V(finished), or V(stopped) with RV(detail)).
  returned: success
  type: str
  sample: finished
detail:
  description: MinIO's reason when it stopped the sequence.
  returned: when MinIO gave one
  type: str
  sample: ''
'''

import contextlib  # noqa: E402
import time  # noqa: E402

from ansible.module_utils.basic import AnsibleModule, missing_required_lib  # noqa: E402
from ansible.module_utils.common.text.converters import to_native  # noqa: E402

from ansible_collections.onprem.mlflow.plugins.module_utils.minio_admin import (  # noqa: E402
    BOTOCORE_IMPORT_ERROR,
    HAS_BOTOCORE,
    MinioAdmin,
    MinioAdminError,
    verify_setting,
)
from ansible_collections.onprem.mlflow.plugins.module_utils.minio_heal import (  # noqa: E402
    RUNNING,
    SCAN_MODES,
    heal_options,
    summarize,
)
from ansible_collections.onprem.mlflow.plugins.module_utils.s3 import (  # noqa: E402
    s3_argument_spec,
    validate_bucket_name,
)

if HAS_BOTOCORE:
    from botocore.exceptions import BotoCoreError
else:  # pragma: no cover
    BotoCoreError = Exception


def argument_spec():
    spec = s3_argument_spec()
    spec.update(
        bucket=dict(type='str'),
        prefix=dict(type='str'),
        scan_mode=dict(type='str', default='normal', choices=sorted(SCAN_MODES)),
        remove=dict(type='bool', default=False),
        recursive=dict(type='bool', default=True),
        timeout=dict(type='int', default=600),
        poll_interval=dict(type='float', default=1.0),
    )
    return spec


def check_params(params):
    """Refuse bad parameters before any request. Raises ValueError."""
    if params.get('bucket'):
        validate_bucket_name(params['bucket'])
    if params['timeout'] < 1:
        raise ValueError('timeout must be at least 1 second (it is %d)' % params['timeout'])
    if not 0 < params['poll_interval'] <= params['timeout']:
        raise ValueError('poll_interval must be above 0 and at most timeout')


def run_sequence(admin, params, dry_run, clock=time.monotonic, sleep=time.sleep):
    """Start a heal sequence, poll it to its end; return (summary, detail, items). Raises TimeoutError."""
    bucket, prefix = params.get('bucket') or '', params.get('prefix') or ''
    options = heal_options(dry_run, params['scan_mode'], params['remove'], params['recursive'])
    start = admin.heal(bucket, prefix, options=options)
    token = dict((key.lower(), value) for key, value in start.items()).get('clienttoken')
    if not token:
        raise ValueError('MinIO started no heal sequence (answer: %r)' % (start,))
    deadline = clock() + params['timeout']
    items = []
    while True:
        # MinIO names these fields Summary, Detail and Items (Go's JSON reads any case; so does this).
        status = dict((key.lower(), value) for key, value in admin.heal(bucket, prefix, client_token=token).items())
        items.extend(status.get('items') or [])
        summary = status.get('summary') or ''
        if summary and summary != RUNNING:
            return summary, status.get('detail') or '', items
        if clock() >= deadline:
            # It may have ended meanwhile; the timeout is reported either way.
            with contextlib.suppress(MinioAdminError):
                admin.heal(bucket, prefix, force_stop=True)
            raise TimeoutError('the heal sequence ran longer than %d s and was stopped (%d items so far)'
                               % (params['timeout'], len(items)))
        sleep(params['poll_interval'])


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           required_by=dict(prefix='bucket'))
    params = module.params
    try:
        check_params(params)
    except ValueError as exc:
        module.fail_json(msg=to_native(exc))
    if not HAS_BOTOCORE:
        module.fail_json(msg=missing_required_lib('botocore'), exception=to_native(BOTOCORE_IMPORT_ERROR))

    result = dict(changed=False, unhealed=[])
    try:
        admin = MinioAdmin(params['endpoint_url'], params['access_key'], params['secret_key'],
                           region=params['region'], verify=verify_setting(params))
        summary, detail, items = run_sequence(admin, params, module.check_mode)
    except (ValueError, TimeoutError) as exc:
        module.fail_json(msg=to_native(exc), **result)
    except (MinioAdminError, BotoCoreError) as exc:
        module.fail_json(msg='Heal request to %s failed: %s' % (params['endpoint_url'], to_native(exc)), **result)

    found = summarize(items, module.check_mode)
    result.update(scanned=found['scanned'], needed=found['needed'], healed=found['healed'],
                  unhealed=found['unhealed'], offline_drives=found['offline'], summary=summary)
    if detail:
        result['detail'] = detail
    result['changed'] = bool(found['needed'] if module.check_mode else found['healed'])
    if module._diff:
        remaining = [] if module.check_mode else found['unhealed']
        result['diff'] = dict(before=dict(lacking_copies=found['needed']), after=dict(lacking_copies=remaining))
    if summary != 'finished':
        module.fail_json(msg='MinIO stopped the heal sequence (%s): %s' % (summary, detail or 'no reason given'),
                         **result)
    if found['unhealed']:
        module.fail_json(msg='%d item(s) still lack a copy on a drive that answered after the heal: %s'
                         % (len(found['unhealed']), ', '.join(found['unhealed'][:20])), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
