# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.onprem.mlflow.plugins.modules import sql_database


def params(**kw):
    base = dict(engine='postgresql', name='mlflow', state='present', owner='mlflow', owner_password='pw',
                owner_hosts=None, encoding=None, collation=None, login_host=None, login_port=None,
                login_user=None, login_password=None, login_unix_socket=None, connect_timeout=10)
    base.update(kw)
    return base


def test_mysql_defaults():
    wanted = sql_database.wanted_state(params(engine='mysql'))
    assert wanted['owner_hosts'] == ['localhost']
    assert wanted['encoding'] == 'utf8mb4'
    assert wanted['collation'] == 'utf8mb4_unicode_ci'
    assert wanted['login_user'] == 'root'
    latin = sql_database.wanted_state(params(engine='mysql', encoding='latin1'))
    assert latin['collation'] is None


def test_postgresql_rejects_owner_hosts():
    with pytest.raises(ValueError, match='owner_hosts'):
        sql_database.wanted_state(params(owner_hosts=['x']))


def test_password_without_owner():
    with pytest.raises(ValueError, match='owner_password needs owner'):
        sql_database.wanted_state(params(owner=None))


def test_duplicate_hosts_collapse():
    wanted = sql_database.wanted_state(params(engine='mysql', owner_hosts=['a', 'b', 'a']))
    assert wanted['owner_hosts'] == ['a', 'b']


def test_argument_spec_hides_passwords():
    spec = sql_database.argument_spec()
    assert spec['owner_password']['no_log'] is True
    assert spec['login_password']['no_log'] is True
