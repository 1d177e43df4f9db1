# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.onprem.mlflow.plugins.module_utils import mysql, postgresql
from ansible_collections.onprem.mlflow.plugins.modules import sql_database

# What the module (and anyone adding an engine) may rely on in every engine module_utils.
INTERFACE = ('DRIVER', 'DRIVER_ERROR', 'check_driver', 'DEFAULT_PORT', 'DEFAULT_LOGIN_USER', 'NAME_LIMITS',
             'complete', 'quote_ident', 'connect', 'read_state', 'plan')


def params(**kw):
    base = dict(engine='postgresql', name='mlflow', state='present', owner='mlflow', owner_password='pw',
                owner_hosts=None, encoding=None, collation=None, login_host=None, login_port=None,
                login_user=None, login_password=None, login_unix_socket=None, connect_timeout=10)
    base.update(kw)
    return base


def test_engines_are_the_choices_and_offer_the_same_parts():
    assert sorted(sql_database.ENGINES) == sorted(sql_database.argument_spec()['engine']['choices'])
    assert sql_database.ENGINES['postgresql'] is postgresql
    assert sql_database.ENGINES['mysql'] is mysql
    for engine in sql_database.ENGINES.values():
        missing = [part for part in INTERFACE if not hasattr(engine, part)]
        assert missing == [], '%s lacks %s' % (engine.__name__, missing)


@pytest.mark.parametrize('engine', sorted(sql_database.ENGINES))
def test_check_driver_raises_the_import_error(monkeypatch, engine):
    utils = sql_database.ENGINES[engine]
    missing = ImportError('No module named %s' % utils.DRIVER)
    monkeypatch.setattr(utils, 'DRIVER_ERROR', missing)
    with pytest.raises(ImportError) as caught:
        utils.check_driver()
    assert caught.value is missing
    monkeypatch.setattr(utils, 'DRIVER_ERROR', None)
    utils.check_driver()


@pytest.mark.parametrize('engine, port, user', [('postgresql', 5432, 'postgres'), ('mysql', 3306, 'root')])
def test_login_defaults(engine, port, user):
    conn = sql_database.login(sql_database.ENGINES[engine], params(engine=engine))
    assert (conn['port'], conn['user']) == (port, user)
    assert sql_database.wanted_state(params(engine=engine))['login_user'] == user
    conn = sql_database.login(sql_database.ENGINES[engine], params(engine=engine, login_port=1, login_user='u'))
    assert (conn['port'], conn['user']) == (1, 'u')


def test_mysql_defaults():
    wanted = sql_database.wanted_state(params(engine='mysql'))
    assert wanted['owner_hosts'] == ['localhost']
    assert wanted['encoding'] == 'utf8mb4'
    assert wanted['collation'] == 'utf8mb4_unicode_ci'
    assert wanted['login_user'] == 'root'
    latin = sql_database.wanted_state(params(engine='mysql', encoding='latin1'))
    assert latin['collation'] is None


def test_postgresql_defaults():
    wanted = sql_database.wanted_state(params())
    assert wanted['encoding'] == 'UTF8'
    assert wanted['collation'] is None
    assert 'owner_hosts' not in wanted


def test_postgresql_rejects_owner_hosts():
    with pytest.raises(ValueError, match='owner_hosts'):
        sql_database.wanted_state(params(owner_hosts=['x']))


def test_password_without_owner():
    with pytest.raises(ValueError, match='owner_password needs owner'):
        sql_database.wanted_state(params(owner=None))


@pytest.mark.parametrize('engine, option, longest', [
    ('postgresql', 'name', 63), ('postgresql', 'owner', 63), ('mysql', 'name', 64), ('mysql', 'owner', 80)])
def test_name_limits(engine, option, longest):
    assert sql_database.wanted_state(params(engine=engine, **{option: 'x' * longest}))[option] == 'x' * longest
    with pytest.raises(ValueError, match='%s .* is longer than %d bytes' % (option, longest)):
        sql_database.wanted_state(params(engine=engine, **{option: 'x' * (longest + 1)}))


def test_name_is_checked_before_the_owner_password():
    with pytest.raises(ValueError, match='name must not be empty'):
        sql_database.wanted_state(params(name='', owner=None))


def test_duplicate_hosts_collapse():
    wanted = sql_database.wanted_state(params(engine='mysql', owner_hosts=['a', 'b', 'a']))
    assert wanted['owner_hosts'] == ['a', 'b']


def test_argument_spec_hides_passwords():
    spec = sql_database.argument_spec()
    assert spec['owner_password']['no_log'] is True
    assert spec['login_password']['no_log'] is True
