# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.onprem.mlflow.plugins.module_utils import sql


def test_query_masks_secrets_and_percent():
    query = sql.Query('CREATE ROLE %s PASSWORD %%s' % sql.percent_escape('"a%b"'), ("it's",), secret=(0,))
    assert query.sql == 'CREATE ROLE "a%%b" PASSWORD %s'
    assert query.masked() == 'CREATE ROLE "a%b" PASSWORD \'********\''
    assert sql.Query('SELECT %s', ("it's",)).masked() == "SELECT 'it''s'"
    assert sql.Query('SELECT %s, %s, %s', (None, True, 3)).masked() == 'SELECT NULL, TRUE, 3'
    assert "it's" not in repr(query)


def test_check_name():
    assert sql.check_name('name', 'ok', 63) == 'ok'
    assert sql.check_name('name', None, 63) is None
    assert sql.check_name('name', 'x' * 300, None) == 'x' * 300
    with pytest.raises(ValueError, match='longer than 63'):
        sql.check_name('name', 'x' * 64, 63)
    with pytest.raises(ValueError, match='longer than 63'):
        sql.check_name('name', u'\u00e9' * 32, 63)    # 64 bytes in UTF-8
    with pytest.raises(ValueError, match='empty'):
        sql.check_name('name', '', 63)
    with pytest.raises(ValueError, match='NUL'):
        sql.check_name('name', 'a\x00b', 63)


def test_connection_params_defaults_and_overrides():
    empty = dict(login_host=None, login_port=None, login_user=None, login_password=None,
                 login_unix_socket=None, connect_timeout=None)
    assert sql.connection_params(empty, 5432, 'postgres') == dict(
        host=None, port=5432, user='postgres', password=None, unix_socket=None, connect_timeout=10)
    given = dict(empty, login_port=6432, login_user='admin', connect_timeout=3)
    resolved = sql.connection_params(given, 5432, 'postgres')
    assert (resolved['port'], resolved['user'], resolved['connect_timeout']) == (6432, 'admin', 3)


def test_argument_spec_hides_the_login_password():
    assert sql.connection_argument_spec()['login_password']['no_log'] is True


def test_plan_result_shape():
    queries = [sql.Query('DROP DATABASE x')]
    before_db = dict(name='x', exists=True)
    after_db = dict(name='x', exists=False)
    result = sql.plan_result(queries, ['w'], before_db, after_db,
                             dict(name='o', exists=True), dict(name='o', exists=True), True)
    assert result['queries'] is queries and result['warnings'] == ['w']
    assert result['database'] == after_db
    assert result['owner'] == dict(name='o', exists=True, password_changed=True)
    assert result['before'] == dict(database=before_db, owner=dict(name='o', exists=True, password_changed=False))
    assert result['after'] == dict(database=after_db, owner=result['owner'])
    # The module replaces the reported owner after running: that must not touch the diff.
    assert result['owner'] is not result['after']['owner']


class FakeCursor(object):
    def __init__(self, fail_on=None):
        self.calls = []
        self.closed = False
        self.fail_on = fail_on

    def execute(self, statement, params):
        if statement == self.fail_on:
            raise RuntimeError('refused')
        self.calls.append((statement, params))

    def close(self):
        self.closed = True


class FakeConnection(object):
    def __init__(self, cursor):
        self._cursor = cursor

    def cursor(self):
        return self._cursor


def test_execute_binds_parameters_in_order_and_closes():
    cursor = FakeCursor()
    sql.execute(FakeConnection(cursor), [sql.Query('A %s', ('x',)), sql.Query('B')])
    assert cursor.calls == [('A %s', ('x',)), ('B', ())]
    assert cursor.closed


def test_execute_stops_at_the_first_error_and_closes():
    cursor = FakeCursor(fail_on='B')
    with pytest.raises(RuntimeError):
        sql.execute(FakeConnection(cursor), [sql.Query('A'), sql.Query('B'), sql.Query('C')])
    assert cursor.calls == [('A', ())]
    assert cursor.closed
