#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: onprem.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: minio_config
short_description: Settings of one MinIO configuration subsystem, applied at run time
description:
  - Reads the settings of a configuration subsystem of MinIO (V(api), V(scanner), V(heal), ...) through the
    admin API (C(get-config-kv)) and sets those of O(settings) that differ (C(set-config-kv)). Settings not
    named in O(settings) are left as they are.
  - MinIO keeps this configuration in the deployment itself, so one call sets it for every server of a
    distributed deployment. Most subsystems apply a change at once, without a restart (RV(restart_required)
    says when MinIO wants one); an environment variable is read only when a server starts, and all servers
    of a deployment must start with the same ones.
  - Check mode reads only and reports the exact change. Requests and answers are encrypted with the secret key
    of O(access_key), as MinIO requires.
  - Fails before any change when a name is not a setting of the subsystem, or when the server's environment
    sets the same setting to another value (C(MINIO_<SUBSYSTEM>_<SETTING>), which overrides the configuration).
version_added: 0.3.0
author:
  - onprem.mlflow maintainers (@onprem-mlflow)
extends_documentation_fragment:
  - onprem.mlflow.s3_connection
  - onprem.mlflow.attributes
options:
  subsystem:
    description:
      - Configuration subsystem, as C(mc admin config get) names it (its default target only).
    type: str
    required: true
  settings:
    description:
      - Setting name → value. Values are compared as the strings MinIO shows (write durations as MinIO does,
        for example V(24h)).
      - Not for secret settings (MinIO does not show their values, so they could never compare equal).
    type: dict
    required: true
notes:
  - Run the module on a MinIO host against its local endpoint, so the admin API is not exposed, with the
    root (or an admin) account.
  - "Needs botocore and cryptography on the host, and argon2-cffi to read MinIO's answers (Debian:
    C(python3-boto3), C(python3-cryptography), C(python3-argon2))."
requirements:
  - botocore (boto3)
  - cryptography
  - argon2-cffi
seealso:
  - module: onprem.mlflow.minio_user
  - module: onprem.mlflow.minio_heal
'''

EXAMPLES = r'''
- name: Abort multipart uploads left incomplete for a day, without restarting MinIO
  onprem.mlflow.minio_config:
    endpoint_url: http://127.0.0.1:9000
    access_key: "{{ minio_root_user }}"
    secret_key: "{{ minio_root_password }}"
    subsystem: api
    settings:
      stale_uploads_expiry: 24h
      stale_uploads_cleanup_interval: 6h
  no_log: true

- name: A slower scanner, over HTTPS with the stack CA
  onprem.mlflow.minio_config:
    endpoint_url: https://127.0.0.1:9000
    ca_bundle: /usr/local/share/ca-certificates/onprem-ca.crt
    access_key: "{{ minio_root_user }}"
    secret_key: "{{ minio_root_password }}"
    subsystem: scanner
    settings:
      speed: slow
  no_log: true
'''

RETURN = r'''
settings:
  description: The values of the settings named in O(settings) after the run (predicted in check mode).
  returned: success
  type: dict
  sample: {stale_uploads_expiry: 24h, stale_uploads_cleanup_interval: 6h}
changed_settings:
  description: The names of the settings this run changed (or would change, in check mode).
  returned: success
  type: list
  elements: str
  sample: [stale_uploads_expiry]
restart_required:
  description: Whether MinIO answered that the change takes effect only after a restart of its servers.
  returned: success
  type: bool
  sample: false
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib  # noqa: E402
from ansible.module_utils.common.text.converters import to_native, to_text  # noqa: E402

from ansible_collections.onprem.mlflow.plugins.module_utils.minio_admin import (  # noqa: E402
    BOTOCORE_IMPORT_ERROR,
    CRYPTOGRAPHY_IMPORT_ERROR,
    HAS_ARGON2,
    HAS_BOTOCORE,
    HAS_CRYPTOGRAPHY,
    MinioAdmin,
    MinioAdminError,
    verify_setting,
)
from ansible_collections.onprem.mlflow.plugins.module_utils.minio_config import (  # noqa: E402
    format_line,
    key_error,
    parse_config,
    plan_config,
    subsystem_error,
)
from ansible_collections.onprem.mlflow.plugins.module_utils.s3 import s3_argument_spec  # noqa: E402

if HAS_BOTOCORE:
    from botocore.exceptions import BotoCoreError
else:  # pragma: no cover
    BotoCoreError = Exception


def argument_spec():
    spec = s3_argument_spec()
    spec.update(
        subsystem=dict(type='str', required=True),
        settings=dict(type='dict', required=True),
    )
    return spec


def wanted_settings(params):
    """The settings as strings, checked before any request. Raises ValueError."""
    error = subsystem_error(params['subsystem'])
    if error:
        raise ValueError('Invalid subsystem %r: %s' % (params['subsystem'], error))
    if not params['settings']:
        raise ValueError('settings must name at least one setting')
    wanted = {}
    for name, value in params['settings'].items():
        error = key_error(name)
        if error:
            raise ValueError('Invalid setting name %r: %s' % (name, error))
        if value is None or isinstance(value, (dict, list)):
            raise ValueError('The value of %s must be a string, a number or a boolean' % name)
        if isinstance(value, bool):
            value = 'on' if value else 'off'
        wanted[name] = to_text(value)
    return wanted


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    try:
        wanted = wanted_settings(params)
    except ValueError as exc:
        module.fail_json(msg=to_native(exc))
    if not HAS_BOTOCORE:
        module.fail_json(msg=missing_required_lib('botocore'), exception=to_native(BOTOCORE_IMPORT_ERROR))
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib('cryptography'), exception=to_native(CRYPTOGRAPHY_IMPORT_ERROR))
    if not HAS_ARGON2:
        module.fail_json(msg=missing_required_lib('argon2-cffi (Debian: python3-argon2)'))

    subsystem = params['subsystem']
    result = dict(changed=False)
    try:
        admin = MinioAdmin(params['endpoint_url'], params['access_key'], params['secret_key'],
                           region=params['region'], verify=verify_setting(params))
        current, overrides = parse_config(admin.get_config(subsystem), subsystem)
        plan = plan_config(subsystem, current, overrides, wanted)
        result.update(changed=bool(plan['change']), changed_settings=sorted(plan['change']),
                      settings=plan['after'], restart_required=False)
        if module._diff:
            result['diff'] = dict(before=plan['before'], after=plan['after'])
        if plan['change'] and not module.check_mode:
            applied = admin.set_config(format_line(subsystem, plan['change']))
            result['restart_required'] = not applied
            now, dummy = parse_config(admin.get_config(subsystem), subsystem)
            result['settings'] = dict((k, now.get(k)) for k in wanted)
            if result['settings'] != plan['after']:
                module.fail_json(msg='MinIO shows %r after setting %r' % (result['settings'], plan['after']),
                                 **result)
    except ValueError as exc:
        module.fail_json(msg=to_native(exc), **result)
    except (MinioAdminError, BotoCoreError) as exc:
        module.fail_json(msg='Request to %s failed: %s' % (params['endpoint_url'], to_native(exc)), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
