# -*- coding: utf-8 -*-
# Copyright: onprem.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: stack_secret
author: onprem.mlflow maintainers (@onprem-mlflow)
short_description: Secrets of the MLflow stack, set or generated once on the controller
version_added: 0.3.0
description:
  - Returns the secret named by each term. A secret set in its variable C(mlflow_stack_<term>)
    wins; otherwise it is read from the file C(<credentials_dir>/<file>) on the controller, and
    generated into that file (32 or 48 letters and digits, mode 0600, directory 0700) when the file
    does not exist yet, so every later run and every role gets the same value.
  - "Terms and their files: C(db_password) (db_password), C(s3_secret_key) (s3_secret_key),
    C(minio_root_user) (minio_root_user), C(minio_root_password) (minio_root_password),
    C(crypto_kek_passphrase) (mlflow_kek_passphrase), and C(htpasswd_<user>) (htpasswd_<user>, no
    variable: the password of that user in C(mlflow_stack_users))."
  - With C(mlflow_stack_generate_secrets) false a secret that is neither set nor stored is an
    error naming the variable to set; nothing is written.
  - The credentials directory is C(mlflow_stack_credentials_dir), or
    C(~/.onprem-mlflow/<mlflow_stack_name>) (see the P(onprem.mlflow.stack#lookup) lookup).
  - Files written by C(ansible.builtin.password) in earlier releases are read as they are.
options:
  _terms:
    description: Names of stack secrets, for example C(db_password) or C(htpasswd_alice).
    type: list
    elements: str
    required: true
notes:
  - Use it only in tasks or variables whose output is hidden (C(no_log)); the value is a secret.
  - A file is generated even in check mode, as C(ansible.builtin.password) does, so that check
    mode shows the changes the generated value causes.
seealso:
  - plugin: onprem.mlflow.stack
    plugin_type: lookup
"""

EXAMPLES = r"""
- name: Create the database owner with the stack's password
  onprem.mlflow.sql_database:
    engine: postgresql
    name: mlflow
    owner: mlflow
    owner_password: "{{ lookup('onprem.mlflow.stack_secret', 'db_password') }}"
  no_log: true
"""

RETURN = r"""
_raw:
  description: One secret per term.
  type: list
  elements: str
"""

from ansible_collections.onprem.mlflow.plugins.lookup.stack import LookupModule as StackLookup  # noqa: E402
from ansible_collections.onprem.mlflow.plugins.plugin_utils import stack  # noqa: E402


class LookupModule(StackLookup):
    """The stack lookup, resolving secrets (read, or generated once) instead of values."""

    resolve = staticmethod(stack.secret)
    errors = (stack.StackError, OSError)
