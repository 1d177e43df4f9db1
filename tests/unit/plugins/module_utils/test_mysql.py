# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.onprem.mlflow.plugins.module_utils import mysql as my


def wanted(**kw):
    base = dict(name='mlflow_db', state='present', owner='mlflow', owner_password='pw',
                owner_hosts=None, encoding=None, collation=None, login_user='root')
    base.update(kw)
    return my.complete(base)


GOOD_GRANTS = [
    "GRANT USAGE ON *.* TO `mlflow`@`localhost` IDENTIFIED BY PASSWORD '*AAAA'",
    'GRANT ALL PRIVILEGES ON `mlflow\\_db`.* TO `mlflow`@`localhost`',
]


def test_native_hash_matches_server():
    # SELECT PASSWORD('secret1') on MariaDB 10.11
    assert my.native_password_hash('secret1') == '*7C67218EF7410F248763DC99AEDC705367393C4A'
    assert my.password_matches('mysql_native_password', '*7C67218EF7410F248763DC99AEDC705367393C4A',
                               'secret1') is True
    assert my.password_matches('mysql_native_password', '*7c67218ef7410f248763dc99aedc705367393c4a',
                               'secret1') is True
    assert my.password_matches('mysql_native_password', '*7C67218EF7410F248763DC99AEDC705367393C4A',
                               'secret2') is False


def test_other_plugins_need_a_login():
    assert my.password_matches('caching_sha2_password', '$A$005$xxxx', 'pw') is None
    assert my.password_matches('parsec', 'abc', 'pw') is None


def test_grants_in_sync():
    assert my.grant_queries(GOOD_GRANTS, 'mlflow_db', 'mlflow', 'localhost') == []


def test_grants_missing_global_and_grant_option():
    lines = [
        "GRANT SELECT, RELOAD ON *.* TO `mlflow`@`localhost` WITH GRANT OPTION",
        'GRANT SELECT, INSERT ON `mlflow\\_db`.* TO `mlflow`@`localhost` WITH GRANT OPTION',
        'GRANT ALL PRIVILEGES ON `other`.* TO `mlflow`@`localhost`',
    ]
    shown = [q.masked() for q in my.grant_queries(lines, 'mlflow_db', 'mlflow', 'localhost')]
    assert shown == [
        "GRANT ALL PRIVILEGES ON `mlflow\\_db`.* TO 'mlflow'@'localhost'",
        "REVOKE GRANT OPTION ON `mlflow\\_db`.* FROM 'mlflow'@'localhost'",
        "REVOKE ALL PRIVILEGES ON *.* FROM 'mlflow'@'localhost'",
        "REVOKE GRANT OPTION ON *.* FROM 'mlflow'@'localhost'",
    ]


def test_plan_fresh():
    result = my.plan(dict(database=None, accounts={}), wanted(owner_hosts=['localhost', '10.0.0.%']))
    shown = [q.masked() for q in result['queries']]
    assert shown == [
        'CREATE DATABASE `mlflow_db` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci',
        "CREATE USER 'mlflow'@'localhost' IDENTIFIED BY '********'",
        "GRANT ALL PRIVILEGES ON `mlflow\\_db`.* TO 'mlflow'@'localhost'",
        "CREATE USER 'mlflow'@'10.0.0.%' IDENTIFIED BY '********'",
        "GRANT ALL PRIVILEGES ON `mlflow\\_db`.* TO 'mlflow'@'10.0.0.%'",
    ]
    assert result['owner'] == dict(name='mlflow', exists=True, hosts=['10.0.0.%', 'localhost'],
                                   password_changed=True)
    assert "'pw'" not in ' '.join(shown)


def test_plan_in_sync_and_charset_alter():
    accounts = dict(localhost=dict(password_ok=True, grants=GOOD_GRANTS))
    db = dict(charset='utf8mb4', collation='utf8mb4_unicode_ci')
    assert my.plan(dict(database=db, accounts=accounts), wanted())['queries'] == []
    db = dict(charset='latin1', collation='latin1_swedish_ci')
    result = my.plan(dict(database=db, accounts=accounts), wanted())
    assert [q.masked() for q in result['queries']] == [
        'ALTER DATABASE `mlflow_db` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci']
    assert result['before']['database']['encoding'] == 'latin1'
    assert result['after']['database']['collation'] == 'utf8mb4_unicode_ci'


def test_plan_password_change_and_unverifiable():
    db = dict(charset='utf8mb4', collation='utf8mb4_unicode_ci')
    for ok, warns in ((False, 0), (None, 1)):
        accounts = dict(localhost=dict(password_ok=ok, grants=GOOD_GRANTS))
        result = my.plan(dict(database=db, accounts=accounts), wanted())
        assert [q.masked() for q in result['queries']] == [
            "ALTER USER 'mlflow'@'localhost' IDENTIFIED BY '********'"]
        assert len(result['warnings']) == warns
        assert result['owner']['password_changed'] is True


def test_plan_creating_account_needs_password():
    with pytest.raises(ValueError, match='owner_password is required'):
        my.plan(dict(database=None, accounts={}), wanted(owner_password=None))


def test_plan_absent():
    db = dict(charset='utf8mb4', collation='utf8mb4_unicode_ci')
    assert [q.masked() for q in my.plan(dict(database=db, accounts={}), wanted(state='absent'))['queries']] == [
        'DROP DATABASE `mlflow_db`']


def test_charset_name_validation():
    assert my.check_charset_name('encoding', 'utf8mb4') == 'utf8mb4'
    with pytest.raises(ValueError, match='utf8; DROP'):
        my.check_charset_name('encoding', 'utf8; DROP')


def test_ed25519_hash_matches_mariadb():
    # authentication_string of CREATE USER ... IDENTIFIED VIA ed25519 USING PASSWORD('edpw') on MariaDB 10.11
    stored = 'LIEvGDGjHTmKyz3peLRjPqahOct5n6/BQCNm1bOvot4'
    assert my.ed25519_password_hash('edpw') == stored
    assert my.password_matches('ed25519', stored, 'edpw') is True
    assert my.password_matches('ed25519', stored, 'other') is False


def test_complete_fills_hosts_charset_and_collation():
    completed = wanted()
    assert completed['owner_hosts'] == ['localhost']
    assert (completed['encoding'], completed['collation']) == ('utf8mb4', 'utf8mb4_unicode_ci')
    assert wanted(encoding='latin1')['collation'] is None
    assert wanted(encoding='latin1', collation='latin1_bin')['collation'] == 'latin1_bin'
    assert wanted(owner_hosts=['a', 'b', 'a'])['owner_hosts'] == ['a', 'b']


def test_complete_refuses_bad_hosts_and_names():
    with pytest.raises(ValueError, match='at least one host'):
        wanted(owner_hosts=[])
    assert wanted(owner=None, owner_password=None, owner_hosts=[])['owner_hosts'] == []
    with pytest.raises(ValueError, match='owner_hosts entry'):
        wanted(owner_hosts=['h' * 256])
    with pytest.raises(ValueError, match='collation'):
        wanted(collation='x y')


def test_quote_ident_and_db_pattern():
    assert my.quote_ident('x`y') == '`x``y`'
    assert my.quote_ident('a%b') == '`a%%b`'
    assert my.db_pattern('my_db%') == 'my\\_db\\%'
    assert my.db_pattern('a\\b') == 'a\\\\b'
    with pytest.raises(ValueError):
        my.quote_ident('a\x00b')
