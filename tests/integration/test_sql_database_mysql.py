# -*- coding: utf-8 -*-
"""onprem.mlflow.sql_database against a real MariaDB (engine=mysql)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pymysql
import pytest

MODULE = 'onprem.mlflow.sql_database'


@pytest.fixture
def my(services):
    conn = pymysql.connect(host=services['MYSQL_HOST'], port=int(services['MYSQL_PORT']),
                           user=services['MYSQL_USER'], password=services['MYSQL_PASSWORD'], autocommit=True)
    yield conn
    conn.close()


@pytest.fixture
def login(services):
    return dict(engine='mysql', login_host=services['MYSQL_HOST'], login_port=int(services['MYSQL_PORT']),
                login_user=services['MYSQL_USER'], login_password=services['MYSQL_PASSWORD'])


def q(conn, sql, params=None):
    cur = conn.cursor()
    cur.execute(sql, params)
    rows = cur.fetchall()
    cur.close()
    return rows


def schema(conn, name):
    rows = q(conn, 'SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA '
                   'WHERE SCHEMA_NAME = %s', (name,))
    return rows[0] if rows else None


def accounts(conn, user):
    return dict(q(conn, 'SELECT Host, authentication_string FROM mysql.user WHERE User = %s', (user,)))


def grants(conn, user, host):
    return sorted(r[0] for r in q(conn, 'SHOW GRANTS FOR %s@%s', (user, host)))


def can_login(services, user, password, db):
    try:
        pymysql.connect(host=services['MYSQL_HOST'], port=int(services['MYSQL_PORT']), user=user,
                        password=password, database=db).close()
        return True
    except pymysql.err.OperationalError:
        return False


def escaped(name):
    return name.replace('_', '\\_')


def test_create_then_idempotent_and_grants_limited(run, login, my, services, unique):
    args = dict(login, name=unique, owner=unique, owner_password='pw-1', owner_hosts=['localhost', '127.0.0.1'])
    first = run(MODULE, args)
    assert first['changed'] is True, first
    assert first['database'] == dict(name=unique, exists=True, owner=unique, encoding='utf8mb4',
                                     collation='utf8mb4_unicode_ci')
    assert first['owner'] == dict(name=unique, exists=True, hosts=['127.0.0.1', 'localhost'], password_changed=True)
    assert 'pw-1' not in run.last_stdout
    assert schema(my, unique) == ('utf8mb4', 'utf8mb4_unicode_ci')
    for host in ('localhost', '127.0.0.1'):
        lines = grants(my, unique, host)
        assert len(lines) == 2, lines
        assert lines[0] == 'GRANT ALL PRIVILEGES ON `%s`.* TO `%s`@`%s`' % (escaped(unique), unique, host)
        assert lines[1].startswith('GRANT USAGE ON *.* TO `%s`@`%s`' % (unique, host))
    assert can_login(services, unique, 'pw-1', unique)

    second = run(MODULE, args)
    assert second['changed'] is False, second
    assert second['queries'] == []


def test_check_mode_changes_nothing(run, login, my, unique):
    result = run(MODULE, dict(login, name=unique, owner=unique, owner_password='pw'), check=True, diff=True)
    assert result['changed'] is True and len(result['queries']) == 3
    assert result['diff']['after']['owner']['exists'] is True
    assert schema(my, unique) is None
    assert accounts(my, unique) == {}


def test_password_change_once(run, login, my, services, unique):
    args = dict(login, name=unique, owner=unique, owner_hosts=['127.0.0.1', 'localhost'])
    run(MODULE, dict(args, owner_password='old'))
    before = accounts(my, unique)

    checked = run(MODULE, dict(args, owner_password='new'), check=True)
    assert checked['changed'] is True and checked['owner']['password_changed'] is True
    assert accounts(my, unique) == before

    changed = run(MODULE, dict(args, owner_password='new'))
    assert changed['changed'] is True
    assert sorted(changed['queries']) == sorted(
        "ALTER USER '%s'@'%s' IDENTIFIED BY '********'" % (unique, h) for h in ('127.0.0.1', 'localhost'))
    assert can_login(services, unique, 'new', unique)
    assert run(MODULE, dict(args, owner_password='new'))['changed'] is False


def test_charset_and_collation_altered(run, login, my, unique):
    q(my, 'CREATE DATABASE `%s` CHARACTER SET latin1 COLLATE latin1_swedish_ci' % unique)
    checked = run(MODULE, dict(login, name=unique), check=True, diff=True)
    assert checked['changed'] is True
    assert checked['diff']['before']['database']['encoding'] == 'latin1'
    assert schema(my, unique) == ('latin1', 'latin1_swedish_ci')
    result = run(MODULE, dict(login, name=unique))
    assert result['queries'] == ['ALTER DATABASE `%s` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci' % unique]
    assert schema(my, unique) == ('utf8mb4', 'utf8mb4_unicode_ci')
    assert run(MODULE, dict(login, name=unique))['changed'] is False
    other = run(MODULE, dict(login, name=unique, collation='utf8mb4_bin'))
    assert other['changed'] is True and schema(my, unique) == ('utf8mb4', 'utf8mb4_bin')


def test_extra_privileges_revoked_other_hosts_left_alone(run, login, my, unique):
    q(my, "CREATE USER %s@'localhost' IDENTIFIED BY 'pw'", (unique,))
    q(my, "GRANT SELECT, PROCESS ON *.* TO %s@'localhost' WITH GRANT OPTION", (unique,))
    q(my, "CREATE USER %s@'10.9.9.9' IDENTIFIED BY 'pw'", (unique,))
    q(my, "GRANT SELECT ON *.* TO %s@'10.9.9.9'", (unique,))
    result = run(MODULE, dict(login, name=unique, owner=unique, owner_password='pw'))
    assert result['changed'] is True
    assert result['owner']['password_changed'] is False
    lines = grants(my, unique, 'localhost')
    assert len(lines) == 2, lines
    assert lines[0] == 'GRANT ALL PRIVILEGES ON `%s`.* TO `%s`@`localhost`' % (escaped(unique), unique)
    assert lines[1].startswith('GRANT USAGE ON *.*') and 'GRANT OPTION' not in lines[1]
    assert grants(my, unique, '10.9.9.9')[0].startswith('GRANT SELECT ON *.*')
    assert run(MODULE, dict(login, name=unique, owner=unique, owner_password='pw'))['changed'] is False


def test_ed25519_password_verified_by_hash(run, services, my, unique):
    if not q(my, "SELECT 1 FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'ed25519'"):
        q(my, "INSTALL SONAME 'auth_ed25519'")
    q(my, "CREATE USER %s@'localhost' IDENTIFIED VIA ed25519 USING PASSWORD('edpw')", (unique,))
    login = dict(engine='mysql', login_unix_socket=services['MYSQL_SOCKET'], login_user=services['MYSQL_USER'],
                 login_password=services['MYSQL_PASSWORD'])
    args = dict(login, name=unique, owner=unique)
    first = run(MODULE, dict(args, owner_password='edpw'))
    assert first['changed'] is True and first['owner']['password_changed'] is False, first
    assert not first.get('warnings'), first
    assert run(MODULE, dict(args, owner_password='edpw'))['changed'] is False
    changed = run(MODULE, dict(args, owner_password='other'))
    assert changed['owner']['password_changed'] is True


def test_absent_and_invalid_charset(run, login, my, unique):
    run(MODULE, dict(login, name=unique))
    assert run(MODULE, dict(login, name=unique, state='absent'), check=True)['changed'] is True
    assert schema(my, unique) is not None
    assert run(MODULE, dict(login, name=unique, state='absent'))['queries'] == ['DROP DATABASE `%s`' % unique]
    assert schema(my, unique) is None
    assert run(MODULE, dict(login, name=unique, state='absent'))['changed'] is False
    bad = run(MODULE, dict(login, name=unique, encoding='utf8; DROP'))
    assert bad.get('failed') is True and "'utf8; DROP'" in bad['msg']


def test_account_creation_needs_password(run, login, my, unique):
    result = run(MODULE, dict(login, name=unique, owner=unique))
    assert result.get('failed') is True and 'owner_password is required' in result['msg']
    assert schema(my, unique) is None, 'nothing is done when the plan fails'
