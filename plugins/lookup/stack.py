# -*- coding: utf-8 -*-
# Copyright: onprem.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: stack
author: onprem.mlflow maintainers (@onprem-mlflow)
short_description: Values of the MLflow stack model, with their one default
version_added: 0.3.0
description:
  - Returns the stack value named by each term, that is the variable C(mlflow_stack_<term>) of the
    host, or the stack's default when it is not set.
  - The defaults and rules live once, in the collection (C(plugins/plugin_utils/stack.py)); every
    role reads the stack through this lookup, so a role installed alone knows them too.
  - Values are converted to their type and checked (choices, names, ports); a bad value fails
    with a message that names the C(mlflow_stack_*) variable.
  - C(credentials_dir) is returned expanded (C(~) is the controller user's home);
    C(public_name) defaults to the FQDN of the first C(mlflow_proxy) host;
    C(public_names) is the public name followed by the aliases, without duplicates.
  - "The secrets (C(db_password), C(s3_secret_key), C(minio_root_user), C(minio_root_password),
    C(crypto_kek_passphrase)) are returned as configured, or empty when they are to be generated:
    this lookup never writes, so role defaults and the preflight can read them (P(onprem.mlflow.stack_secret#lookup)
    reads or generates the value in use). With C(mlflow_stack_generate_secrets) false, a secret
    neither set nor stored in the credentials directory is an error naming its variable; so is a user
    of C(users) without a password."
  - The stack-variable table in C(docs/roles.md) lists every value.
options:
  _terms:
    description: Names of stack values without the C(mlflow_stack_) prefix, for example C(db_engine).
    type: list
    elements: str
    required: true
notes:
  - Runs on the controller. Jinja in inventory values is rendered before the rules apply.
seealso:
  - plugin: onprem.mlflow.stack_secret
    plugin_type: lookup
"""

EXAMPLES = r"""
- name: Install the chosen database engine
  ansible.builtin.include_role:
    name: "onprem.mlflow.{{ lookup('onprem.mlflow.stack', 'db_engine') }}"

- name: A role default that follows the stack
  ansible.builtin.set_fact:
    my_bucket: "{{ lookup('onprem.mlflow.stack', 'bucket') }}"
"""

RETURN = r"""
_raw:
  description:
    - One value per term, of the value's type (str, int, bool or list).
  type: list
  elements: raw
  sample: ["postgresql"]
"""

from ansible.errors import AnsibleLookupError  # noqa: E402
from ansible.plugins.lookup import LookupBase  # noqa: E402

from ansible_collections.onprem.mlflow.plugins.plugin_utils import stack  # noqa: E402


class LookupModule(LookupBase):
    """Resolves each term with ``resolve`` (``onprem.mlflow.stack_secret`` reuses this class)."""

    resolve = staticmethod(stack.value)
    errors = (stack.StackError,)

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        templar = self._templar
        if variables is None:
            variables = {}
        elif variables is not templar.available_variables:
            # called with other variables than the templar's (in a play they are the same): render with these
            templar = templar.copy_with_new_env(available_variables=variables)
        try:
            return [self.resolve(str(term), variables, templar.template) for term in terms]
        except self.errors as exc:
            raise AnsibleLookupError(str(exc)) from exc
