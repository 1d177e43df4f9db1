#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: onprem.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: minio_user
short_description: MinIO user with its own secret key and one policy
description:
  - Creates, updates or removes a user of MinIO's built-in identity provider through the MinIO admin API
    (C(/minio/admin/v3)), signed with the credentials of O(access_key) (the MinIO root user or an admin).
  - With O(policy) or O(bucket), the canned policy O(policy_name) is created or updated; the stored and the
    wanted documents are compared by meaning (statement order, strings versus one-element lists, duplicate
    statements and C(Sid) do not count).
  - With O(policy_name), that policy becomes the only one attached to the user; other policies attached to
    it are detached, so the user never keeps broader rights.
  - The secret key is checked without changing anything, by signing an S3 C(ListBuckets) with the user's own
    credentials; it is set again only when it does not match. Check mode reports the exact change and
    sends no request that changes anything.
  - "Admin requests that carry secrets are encrypted as MinIO requires (madmin C(EncryptData)): Argon2id and
    AES-256-GCM when argon2-cffi is installed, else PBKDF2-SHA256 and AES-256-GCM, both accepted by MinIO."
version_added: 0.2.0
author:
  - onprem.mlflow maintainers (@onprem-mlflow)
extends_documentation_fragment:
  - onprem.mlflow.s3_connection
  - onprem.mlflow.attributes
options:
  name:
    description:
      - Access key (user name) of the user. At least 3 characters, without C(=) or C(,), not the
        O(access_key) the module signs with.
    type: str
    required: true
  user_secret_key:
    description:
      - Secret key of the user, at least 8 characters. Required with O(state=present).
      - Never returned nor shown in the diff.
    type: str
  state:
    description:
      - V(present) creates the user (enabled) or corrects its secret key, status and policy.
      - V(absent) removes the user. The canned policy is left in place (it grants nothing while no user or
        group has it).
    type: str
    default: present
    choices: [present, absent]
  policy_name:
    description:
      - Canned policy that is the only one attached to the user.
      - Without O(policy) or O(bucket) it must already exist (for example a built-in policy such as
        V(readwrite), or one managed elsewhere).
      - When omitted, the policies of the user are left as they are.
    type: str
  policy:
    description:
      - IAM policy document stored as the canned policy O(policy_name) (created or updated).
      - Quote the version in YAML (V("2012-10-17")).
    type: dict
  bucket:
    description:
      - Instead of O(policy), store as O(policy_name) the policy that allows this bucket only, or only the
        keys under O(prefix) in it.
      - "It allows C(s3:GetBucketLocation) and C(s3:ListBucket) on the bucket (with a prefix, C(ListBucket)
        only for C(s3:prefix) values matching C(<prefix>) and C(<prefix>/*)), and C(s3:GetObject),
        C(s3:PutObject), C(s3:DeleteObject), C(s3:AbortMultipartUpload) and C(s3:ListMultipartUploadParts) on
        C(arn:aws:s3:::<bucket>/<prefix>/*)."
    type: str
  prefix:
    description:
      - Key prefix inside O(bucket) that the policy allows; leading and trailing slashes are ignored.
      - When omitted or empty, the whole bucket is allowed.
      - C(*), C(?) and C($) are refused.
    type: str
notes:
  - Run the module on the MinIO host against the local endpoint, so the admin API is not exposed.
  - "Needs botocore and cryptography on the host; argon2-cffi is used when present (Debian: C(python3-boto3),
    C(python3-cryptography), C(python3-argon2))."
requirements:
  - botocore (boto3)
  - cryptography
  - argon2-cffi (optional)
seealso:
  - module: onprem.mlflow.s3_bucket
'''

EXAMPLES = r'''
- name: MLflow's own MinIO user, allowed the artifacts/ prefix of the mlflow bucket only
  onprem.mlflow.minio_user:
    endpoint_url: http://127.0.0.1:9000
    access_key: "{{ minio_root_user }}"
    secret_key: "{{ minio_root_password }}"
    name: mlflow
    user_secret_key: "{{ mlflow_s3_secret_key }}"
    policy_name: mlflow-artifacts
    bucket: mlflow
    prefix: artifacts
  no_log: true

- name: User with a policy document of its own, over HTTPS with the stack CA
  onprem.mlflow.minio_user:
    endpoint_url: https://127.0.0.1:9000
    ca_bundle: /usr/local/share/ca-certificates/onprem-ca.crt
    access_key: "{{ minio_root_user }}"
    secret_key: "{{ minio_root_password }}"
    name: reports
    user_secret_key: "{{ reports_secret_key }}"
    policy_name: reports-read
    policy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Action: [s3:GetObject]
          Resource: [arn:aws:s3:::reports/*]
  no_log: true

- name: Remove a user
  onprem.mlflow.minio_user:
    endpoint_url: http://127.0.0.1:9000
    access_key: "{{ minio_root_user }}"
    secret_key: "{{ minio_root_password }}"
    name: scratch
    state: absent
  no_log: true
'''

RETURN = r'''
user:
  description: The user after the run (predicted in check mode).
  returned: always
  type: dict
  contains:
    name:
      description: Access key of the user.
      type: str
      sample: mlflow
    exists:
      description: Whether the user exists.
      type: bool
      sample: true
    status:
      description: V(enabled) or V(disabled); null when the user does not exist.
      type: str
      sample: enabled
    policies:
      description: Names of the policies attached to the user.
      type: list
      elements: str
      sample: [mlflow-artifacts]
policy:
  description: The canned policy O(policy_name) after the run (predicted in check mode).
  returned: when O(policy) or O(bucket) is given
  type: dict
  contains:
    name:
      description: Name of the canned policy.
      type: str
      sample: mlflow-artifacts
    exists:
      description: Whether the canned policy exists.
      type: bool
      sample: true
    document:
      description: The policy document in canonical form (sorted, without C(Sid)).
      type: dict
      sample: {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetBucketLocation"],
               "Resource": ["arn:aws:s3:::mlflow"]}]}
actions:
  description: What was done (or would be done in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: [create_policy, create_user, attach_policy]
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib  # noqa: E402
from ansible.module_utils.common.text.converters import to_native  # noqa: E402

from ansible_collections.onprem.mlflow.plugins.module_utils.minio_admin import (  # noqa: E402
    BOTOCORE_IMPORT_ERROR,
    CRYPTOGRAPHY_IMPORT_ERROR,
    HAS_BOTOCORE,
    HAS_CRYPTOGRAPHY,
    MinioAdmin,
    MinioAdminError,
    access_key_error,
    normalize_policy,
    parse_policy_names,
    plan_user,
    policy_name_error,
    prefix_policy,
    secret_key_error,
    secret_key_works,
    validate_policy,
    verify_setting,
)
from ansible_collections.onprem.mlflow.plugins.module_utils.s3 import (  # noqa: E402
    BOTO3_IMPORT_ERROR,
    HAS_BOTO3,
    s3_argument_spec,
    s3_client,
    validate_bucket_name,
)

if HAS_BOTOCORE:
    from botocore.exceptions import BotoCoreError, ClientError
else:  # pragma: no cover
    BotoCoreError = ClientError = Exception


def argument_spec():
    spec = s3_argument_spec()
    spec.update(
        name=dict(type='str', required=True),
        user_secret_key=dict(type='str', no_log=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        policy_name=dict(type='str'),
        policy=dict(type='dict'),
        bucket=dict(type='str'),
        prefix=dict(type='str'),
    )
    return spec


def wanted_state(params):
    """Check the parameters before any request; return what the planner needs. Raises ValueError."""
    name = params['name']
    error = access_key_error(name)
    if error:
        raise ValueError('Invalid user name %r: %s' % (name, error))
    if name == params['access_key']:
        raise ValueError('name must not be the access key the module signs with (%r)' % name)
    if params['state'] == 'present':
        error = secret_key_error(params.get('user_secret_key'))
        if error:
            raise ValueError('Invalid user_secret_key: %s' % error)
    policy_name = params.get('policy_name')
    if policy_name is not None:
        error = policy_name_error(policy_name)
        if error:
            raise ValueError('Invalid policy_name %r: %s' % (policy_name, error))
    document = None
    if params.get('bucket') is not None:
        document = prefix_policy(validate_bucket_name(params['bucket']), params.get('prefix'))
    elif params.get('policy') is not None:
        document = validate_policy(params['policy'])
    return dict(name=name, state=params['state'], policy_name=policy_name,
                policy_document=document if params['state'] == 'present' else None)


def user_client_params(params):
    """Connection parameters of the user itself (for the read-only secret key check)."""
    own = dict(params)
    own.update(access_key=params['name'], secret_key=params['user_secret_key'])
    return own


def read_actual(admin, params, wanted):
    info = admin.user_info(wanted['name'])
    actual = dict(exists=info is not None, status=None, policies=[], secret_matches=None, policy_document=None)
    if info is not None:
        actual.update(status=info.get('status'), policies=parse_policy_names(info.get('policyName')))
    if wanted['state'] != 'present':
        return actual
    if info is not None and actual['status'] == 'enabled':
        actual['secret_matches'] = secret_key_works(s3_client(user_client_params(params)))
    if wanted['policy_name']:
        document = admin.policy_info(wanted['policy_name'])
        if document is None and wanted['policy_document'] is None:
            raise ValueError('Canned policy %r does not exist; give policy or bucket to create it'
                             % wanted['policy_name'])
        actual['policy_document'] = document
    return actual


def apply(admin, params, wanted, plan):
    user_written = False
    for action in plan['actions']:
        if action in ('create_policy', 'update_policy'):
            admin.set_policy(wanted['policy_name'], wanted['policy_document'])
        elif action in ('create_user', 'enable_user', 'set_secret'):
            if not user_written:  # one add-user call sets the secret key and enables the user
                admin.add_user(wanted['name'], params['user_secret_key'])
                user_written = True
        elif action == 'detach_policies':
            admin.detach_policies(wanted['name'], plan['detach'])
        elif action == 'attach_policy':
            admin.attach_policies(wanted['name'], [wanted['policy_name']])
        elif action == 'remove_user':
            admin.remove_user(wanted['name'])


def user_view(state):
    return dict(name=state['name'], exists=state['exists'], status=state['status'], policies=state['policies'])


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        required_if=[('state', 'present', ['user_secret_key'])],
        mutually_exclusive=[('policy', 'bucket')],
        required_by=dict(policy='policy_name', bucket='policy_name', prefix='bucket'),
    )
    params = module.params
    try:
        wanted = wanted_state(params)
    except ValueError as exc:
        module.fail_json(msg=to_native(exc))
    if not HAS_BOTO3:
        module.fail_json(msg=missing_required_lib('boto3'), exception=to_native(BOTO3_IMPORT_ERROR))
    if not HAS_BOTOCORE:
        module.fail_json(msg=missing_required_lib('botocore'), exception=to_native(BOTOCORE_IMPORT_ERROR))
    if params['state'] == 'present' and not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib('cryptography'), exception=to_native(CRYPTOGRAPHY_IMPORT_ERROR))

    result = dict(changed=False)
    try:
        admin = MinioAdmin(params['endpoint_url'], params['access_key'], params['secret_key'],
                           region=params['region'], verify=verify_setting(params))
        actual = read_actual(admin, params, wanted)
        plan = plan_user(actual, wanted)
        actions = plan['actions']
        result.update(changed=bool(actions), actions=actions, user=user_view(plan['after']))
        if 'policy' in plan['after']:
            result['policy'] = plan['after']['policy']
        if actions and not module.check_mode:
            apply(admin, params, wanted, plan)
            info = admin.user_info(wanted['name'])
            result['user'] = dict(name=wanted['name'], exists=info is not None,
                                  status=info.get('status') if info else None,
                                  policies=parse_policy_names(info.get('policyName')) if info else [])
            if 'policy' in result:
                document = admin.policy_info(wanted['policy_name'])
                result['policy'] = dict(name=wanted['policy_name'], exists=document is not None,
                                        document=normalize_policy(document))
        if module._diff:
            result['diff'] = dict(before=plan['before'], after=plan['after'])
    except ValueError as exc:
        module.fail_json(msg=to_native(exc), **result)
    except MinioAdminError as exc:
        module.fail_json(msg='Request to %s failed: %s' % (params['endpoint_url'], to_native(exc)), **result)
    except (BotoCoreError, ClientError) as exc:
        module.fail_json(msg='Request to %s failed: %s' % (params['endpoint_url'], to_native(exc)), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
