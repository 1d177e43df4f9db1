#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: onprem.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: sql_database
short_description: Database and owning account on PostgreSQL or MySQL/MariaDB
description:
  - Makes sure a database exists (or not) together with the account that owns it, with one interface for
    PostgreSQL and MySQL/MariaDB.
  - "PostgreSQL: the database is created from C(template0) with O(encoding) and is owned by O(owner);
    the owner role has C(LOGIN) and is not a superuser."
  - "MySQL/MariaDB: the database gets O(encoding) as character set and O(collation) (altered when they differ);
    one account O(owner)@host is managed per entry of O(owner_hosts), each holding C(ALL PRIVILEGES) on the
    database and no global privilege."
  - Passwords are compared with the stored verifier, so an unchanged password is reported as unchanged.
  - Everything is decided by reading the server first; check mode runs no statement that changes anything.
version_added: 0.1.0
author:
  - onprem.mlflow maintainers (@onprem-mlflow)
extends_documentation_fragment:
  - onprem.mlflow.sql_connection
  - onprem.mlflow.attributes
options:
  engine:
    description:
      - Kind of server. V(mysql) covers MariaDB and MySQL 8.
    type: str
    required: true
    choices: [postgresql, mysql]
  name:
    description:
      - Name of the database.
    type: str
    required: true
    aliases: [db]
  state:
    description:
      - V(present) creates or updates the database and its owner.
      - V(absent) drops the database. Owner accounts and roles are left in place.
    type: str
    default: present
    choices: [present, absent]
  owner:
    description:
      - "PostgreSQL: role that owns the database; created with C(LOGIN) when missing."
      - "MySQL/MariaDB: user name of the accounts of O(owner_hosts)."
      - When omitted only the database itself is managed.
    type: str
  owner_password:
    description:
      - Password of O(owner). Set when the account is created and whenever the stored verifier does not
        match it (SCRAM-SHA-256 and md5 on PostgreSQL; C(mysql_native_password) by hash, other plugins by
        logging in).
      - Required to create a MySQL/MariaDB account.
    type: str
  owner_hosts:
    description:
      - "MySQL/MariaDB only: host part of each account O(owner)@host to manage. Accounts of O(owner) at other
        hosts are left alone."
      - Defaults to V([localhost]) for O(engine=mysql).
    type: list
    elements: str
  encoding:
    description:
      - "PostgreSQL: encoding of a new database (default V(UTF8)); an existing database with another encoding
        gives a warning, it cannot be changed in place."
      - "MySQL/MariaDB: character set of the database (default V(utf8mb4))."
    type: str
  collation:
    description:
      - "PostgreSQL: C(LC_COLLATE) of a new database (server default when omitted); only a warning for an
        existing database."
      - "MySQL/MariaDB: collation of the database; default V(utf8mb4_unicode_ci) when the character set is
        V(utf8mb4), otherwise the server default of the character set."
    type: str
notes:
  - Passwords are never returned; RV(queries) shows them as C(********).
  - "PostgreSQL: O(login_user) must be able to read C(pg_authid) (a superuser) to verify passwords; otherwise the
    password is set on every run and a warning says so."
seealso:
  - module: onprem.mlflow.s3_bucket
'''

EXAMPLES = r'''
- name: MLflow database on PostgreSQL, logging in as postgres over the local socket
  become: true
  become_user: postgres
  onprem.mlflow.sql_database:
    engine: postgresql
    name: mlflow
    owner: mlflow
    owner_password: "{{ mlflow_db_password }}"
    login_unix_socket: /run/postgresql
  no_log: true

- name: MLflow database on MariaDB, reachable from two MLflow servers
  onprem.mlflow.sql_database:
    engine: mysql
    name: mlflow
    owner: mlflow
    owner_password: "{{ mlflow_db_password }}"
    owner_hosts:
      - 127.0.0.1
      - 10.0.0.12
    login_unix_socket: /run/mysqld/mysqld.sock
  no_log: true

- name: Drop a database
  onprem.mlflow.sql_database:
    engine: postgresql
    name: scratch
    state: absent
'''

RETURN = r'''
database:
  description: The database after the run (predicted in check mode).
  returned: always
  type: dict
  contains:
    name:
      description: Name of the database.
      type: str
      sample: mlflow
    exists:
      description: Whether the database exists.
      type: bool
      sample: true
    owner:
      description: Owning role (PostgreSQL) or O(owner) (MySQL/MariaDB, which has no ownership).
      type: str
      sample: mlflow
    encoding:
      description: Encoding (PostgreSQL) or character set (MySQL/MariaDB).
      type: str
      sample: UTF8
    collation:
      description: C(LC_COLLATE) (PostgreSQL) or collation (MySQL/MariaDB).
      type: str
      sample: C.UTF-8
owner:
  description: The owner account after the run.
  returned: always
  type: dict
  contains:
    name:
      description: Name of the owner role or user.
      type: str
      sample: mlflow
    exists:
      description: Whether the role exists (PostgreSQL) or every account of O(owner_hosts) exists (MySQL/MariaDB).
      type: bool
      sample: true
    password_changed:
      description: Whether the password was (or in check mode would be) set.
      type: bool
      sample: false
    hosts:
      description: The host parts managed (MySQL/MariaDB only).
      type: list
      elements: str
      returned: when O(engine=mysql) and O(owner) is set
      sample: [localhost]
queries:
  description: Statements executed (or that would be executed in check mode), passwords masked.
  returned: always
  type: list
  elements: str
  sample:
    - CREATE ROLE "mlflow" LOGIN NOSUPERUSER PASSWORD '********'
    - CREATE DATABASE "mlflow" OWNER "mlflow" TEMPLATE template0 ENCODING 'UTF8'
'''

import traceback  # noqa: E402

from ansible.module_utils.basic import AnsibleModule, missing_required_lib  # noqa: E402
from ansible.module_utils.common.text.converters import to_native  # noqa: E402

from ansible_collections.onprem.mlflow.plugins.module_utils import mysql, postgresql  # noqa: E402
from ansible_collections.onprem.mlflow.plugins.module_utils.sql import (  # noqa: E402
    check_name,
    connection_argument_spec,
    connection_params,
    execute,
)

# The value of the engine option -> the module_utils that speaks to that server. Both offer the
# same names: DRIVER, check_driver, DEFAULT_PORT, DEFAULT_LOGIN_USER, NAME_LIMITS, complete,
# quote_ident, connect, read_state, plan.
ENGINES = {
    'postgresql': postgresql,
    'mysql': mysql,
}


def argument_spec():
    spec = connection_argument_spec()
    spec.update(
        engine=dict(type='str', required=True, choices=['postgresql', 'mysql']),
        name=dict(type='str', required=True, aliases=['db']),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        owner=dict(type='str'),
        owner_password=dict(type='str', no_log=True),
        owner_hosts=dict(type='list', elements='str'),
        encoding=dict(type='str'),
        collation=dict(type='str'),
    )
    return spec


def login(engine, params):
    """The login parameters of ``params`` with the defaults of ``engine``."""
    return connection_params(params, engine.DEFAULT_PORT, engine.DEFAULT_LOGIN_USER)


def wanted_state(params):
    """Validate the module parameters and complete them for their engine; raises ValueError."""
    engine = ENGINES[params['engine']]
    wanted = dict(
        name=check_name('name', params['name'], engine.NAME_LIMITS['name']),
        state=params['state'],
        owner=check_name('owner', params['owner'], engine.NAME_LIMITS['owner']),
        owner_password=params['owner_password'],
        owner_hosts=params['owner_hosts'],
        encoding=params['encoding'],
        collation=params['collation'],
        login_user=login(engine, params)['user'],
    )
    if params['owner_password'] is not None and params['owner'] is None:
        raise ValueError('owner_password needs owner')
    return engine.complete(wanted)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    name = module.params['engine']
    engine = ENGINES[name]
    try:
        engine.check_driver()
    except ImportError as exc:
        module.fail_json(msg=missing_required_lib(engine.DRIVER), exception=to_native(exc))

    try:
        wanted = wanted_state(module.params)
    except ValueError as exc:
        module.fail_json(msg=to_native(exc))

    conn_params = login(engine, module.params)
    try:
        db = engine.connect(conn_params)
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg='Cannot connect to %s as %s: %s' % (name, conn_params['user'], to_native(exc)))

    queries = []
    try:
        result = engine.plan(engine.read_state(db, wanted, conn_params), wanted)
        queries = result['queries']
        if queries and not module.check_mode:
            execute(db, queries)
            # Report what the server now holds, not what was predicted.
            after = engine.plan(engine.read_state(db, wanted, conn_params), wanted)
            for key in ('database', 'owner'):
                reported = dict(after['after'][key])
                if 'password_changed' in reported:
                    reported['password_changed'] = result['owner']['password_changed']
                result[key] = reported
                result['after'][key] = reported
    except ValueError as exc:
        module.fail_json(msg=to_native(exc), queries=[q.masked() for q in queries])
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg='%s error: %s' % (name, to_native(exc)),
                         exception=traceback.format_exc(),
                         queries=[q.masked() for q in queries])
    finally:
        db.close()

    for warning in result['warnings']:
        module.warn(warning)
    changed = bool(queries)
    out = dict(
        changed=changed,
        database=result['database'],
        owner=result['owner'],
        queries=[q.masked() for q in queries],
    )
    if module._diff:
        out['diff'] = dict(before=result['before'], after=result['after'])
    module.exit_json(**out)


if __name__ == '__main__':
    main()
