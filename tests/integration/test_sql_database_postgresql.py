# -*- coding: utf-8 -*-
"""onprem.mlflow.sql_database against a real PostgreSQL 15 (scram-sha-256)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import sys

import psycopg2
import pytest

MODULE = 'onprem.mlflow.sql_database'


@pytest.fixture
def pg(services):
    conn = psycopg2.connect(host=services['PG_HOST'], port=int(services['PG_PORT']), user=services['PG_USER'],
                            password=services['PG_PASSWORD'], dbname='postgres')
    conn.autocommit = True
    yield conn
    conn.close()


@pytest.fixture
def login(services):
    return dict(engine='postgresql', login_host=services['PG_HOST'], login_port=int(services['PG_PORT']),
                login_user=services['PG_USER'], login_password=services['PG_PASSWORD'])


def q(conn, sql, params=()):
    cur = conn.cursor()
    cur.execute(sql, params)
    rows = cur.fetchall()
    cur.close()
    return rows


def db_state(conn, name):
    rows = q(conn, 'SELECT pg_get_userbyid(datdba), pg_encoding_to_char(encoding), datcollate '
                   'FROM pg_database WHERE datname = %s', (name,))
    return rows[0] if rows else None


def role_state(conn, name):
    rows = q(conn, 'SELECT rolcanlogin, rolsuper, rolpassword FROM pg_authid WHERE rolname = %s', (name,))
    return rows[0] if rows else None


def can_login(services, user, password, dbname):
    try:
        psycopg2.connect(host=services['PG_HOST'], port=int(services['PG_PORT']), user=user,
                         password=password, dbname=dbname).close()
        return True
    except psycopg2.OperationalError:
        return False


def test_create_then_idempotent(run, login, pg, services, unique):
    args = dict(login, name=unique, owner=unique, owner_password='pw-1')
    first = run(MODULE, args)
    assert first['changed'] is True, first
    assert first['database'] == dict(name=unique, exists=True, owner=unique, encoding='UTF8', collation='C.UTF-8')
    assert first['owner'] == dict(name=unique, exists=True, password_changed=True)
    assert any('PASSWORD \'********\'' in s for s in first['queries'])
    assert 'pw-1' not in run.last_stdout
    assert db_state(pg, unique) == (unique, 'UTF8', 'C.UTF-8')
    login_ok, superuser, stored = role_state(pg, unique)
    assert login_ok is True and superuser is False and stored.startswith('SCRAM-SHA-256$')
    assert can_login(services, unique, 'pw-1', unique)

    second = run(MODULE, args)
    assert second['changed'] is False, second
    assert second['queries'] == []
    assert second['owner']['password_changed'] is False


def test_check_mode_changes_nothing(run, login, pg, unique):
    result = run(MODULE, dict(login, name=unique, owner=unique, owner_password='pw'), check=True, diff=True)
    assert result['changed'] is True
    assert len(result['queries']) == 2
    assert result['diff']['before']['database']['exists'] is False
    assert result['diff']['after']['database']['exists'] is True
    assert db_state(pg, unique) is None
    assert role_state(pg, unique) is None


def test_password_change_once(run, login, pg, services, unique):
    run(MODULE, dict(login, name=unique, owner=unique, owner_password='old'))
    stored_before = role_state(pg, unique)[2]

    checked = run(MODULE, dict(login, name=unique, owner=unique, owner_password='new'), check=True)
    assert checked['changed'] is True and checked['owner']['password_changed'] is True
    assert role_state(pg, unique)[2] == stored_before

    changed = run(MODULE, dict(login, name=unique, owner=unique, owner_password='new'))
    assert changed['changed'] is True and changed['owner']['password_changed'] is True
    assert changed['queries'] == ['ALTER ROLE "%s" PASSWORD \'********\'' % unique]
    assert role_state(pg, unique)[2] != stored_before
    assert can_login(services, unique, 'new', unique)
    assert not can_login(services, unique, 'old', unique)

    again = run(MODULE, dict(login, name=unique, owner=unique, owner_password='new'))
    assert again['changed'] is False


def test_md5_stored_password_is_verified(run, login, pg, unique):
    run(MODULE, dict(login, name=unique, owner=unique))
    cur = pg.cursor()
    cur.execute("SET password_encryption = 'md5'")
    cur.execute('ALTER ROLE "%s" PASSWORD %%s' % unique, ('md5-pw',))
    cur.execute("RESET password_encryption")
    assert role_state(pg, unique)[2].startswith('md5')
    assert run(MODULE, dict(login, name=unique, owner=unique, owner_password='md5-pw'))['changed'] is False
    assert run(MODULE, dict(login, name=unique, owner=unique, owner_password='other'))['changed'] is True


def test_owner_change_and_role_attributes(run, login, pg, unique):
    other = unique + '_b'
    run(MODULE, dict(login, name=unique, owner=unique, owner_password='pw'))
    q(pg, 'SELECT 1')
    pg.cursor().execute('CREATE ROLE "%s" SUPERUSER NOLOGIN' % other)
    result = run(MODULE, dict(login, name=unique, owner=other, owner_password='pw2'), diff=True)
    assert result['changed'] is True
    assert 'ALTER ROLE "%s" LOGIN NOSUPERUSER' % other in result['queries']
    assert 'ALTER DATABASE "%s" OWNER TO "%s"' % (unique, other) in result['queries']
    assert result['diff']['before']['database']['owner'] == unique
    assert result['diff']['after']['database']['owner'] == other
    assert db_state(pg, unique)[0] == other
    assert role_state(pg, other)[:2] == (True, False)
    assert run(MODULE, dict(login, name=unique, owner=other, owner_password='pw2'))['changed'] is False


def test_collation_at_creation_and_quoting(run, login, pg, unique):
    name = unique + '-We"ird'
    result = run(MODULE, dict(login, name=name, collation='C'))
    assert result['changed'] is True
    assert db_state(pg, name) == (login['login_user'], 'UTF8', 'C')
    assert run(MODULE, dict(login, name=name, collation='C'))['changed'] is False
    warned = run(MODULE, dict(login, name=name, collation='C.UTF-8'))
    assert warned['changed'] is False and warned.get('warnings')


def test_absent(run, login, pg, unique):
    run(MODULE, dict(login, name=unique, owner=unique, owner_password='pw'))
    checked = run(MODULE, dict(login, name=unique, state='absent'), check=True)
    assert checked['changed'] is True and checked['database']['exists'] is False
    assert db_state(pg, unique) is not None
    dropped = run(MODULE, dict(login, name=unique, state='absent'))
    assert dropped['changed'] is True and dropped['queries'] == ['DROP DATABASE "%s"' % unique]
    assert db_state(pg, unique) is None
    assert role_state(pg, unique) is not None, 'the owner role is left in place'
    assert run(MODULE, dict(login, name=unique, state='absent'))['changed'] is False


def test_unix_socket_login(run, services, pg, unique):
    args = dict(engine='postgresql', login_unix_socket=services['PG_SOCKET_DIR'],
                login_port=int(services['PG_PORT']), login_password=services['PG_PASSWORD'], name=unique)
    assert run(MODULE, args)['changed'] is True
    assert db_state(pg, unique) is not None


def test_missing_driver_fails_clearly(run, login, unique, tmp_path):
    # An interpreter without site-packages: the module runs (stdlib only) but has no psycopg2.
    bare = tmp_path / 'python-no-site'
    bare.write_text('#!/bin/sh\nexec %s -S "$@"\n' % sys.executable)
    bare.chmod(0o755)
    result = run(MODULE, dict(login, name=unique), python=str(bare))
    assert result.get('failed') is True
    assert 'psycopg2' in result['msg']


def test_bad_login_fails_clearly(run, login, unique):
    result = run(MODULE, dict(login, name=unique, login_password='wrong'))
    assert result.get('failed') is True
    assert 'Cannot connect to postgresql as postgres' in result['msg']
    assert 'wrong' not in run.last_stdout.replace('"wrong"', '')
