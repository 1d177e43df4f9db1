# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.onprem.mlflow.plugins.module_utils import sql


def test_query_masks_secrets_and_percent():
    query = sql.Query('CREATE ROLE %s PASSWORD %%s' % sql.quote_pg_ident('a%b'), ("it's",), secret=(0,))
    assert query.sql == 'CREATE ROLE "a%%b" PASSWORD %s'
    assert query.masked() == 'CREATE ROLE "a%b" PASSWORD \'********\''
    assert sql.Query('SELECT %s', ("it's",)).masked() == "SELECT 'it''s'"


def test_quoting():
    assert sql.quote_pg_ident('x"y') == '"x""y"'
    assert sql.quote_mysql_ident('x`y') == '`x``y`'
    assert sql.mysql_db_pattern('my_db%') == 'my\\_db\\%'
    with pytest.raises(ValueError):
        sql.quote_pg_ident('a\x00b')


def test_check_name():
    assert sql.check_name('name', 'ok') == 'ok'
    with pytest.raises(ValueError, match='longer than 63'):
        sql.check_name('name', 'x' * 64)
    with pytest.raises(ValueError, match='empty'):
        sql.check_name('name', '')


def test_connection_params_defaults():
    empty = dict(login_host=None, login_port=None, login_user=None, login_password=None,
                 login_unix_socket=None, connect_timeout=None)
    assert sql.connection_params('postgresql', empty)['port'] == 5432
    assert sql.connection_params('mysql', empty)['user'] == 'root'


def test_diff_dicts():
    assert sql.diff_dicts(dict(a=1, b=dict(c=1, d=2)), dict(a=1, b=dict(c=2, d=2))) == ['b.c']
