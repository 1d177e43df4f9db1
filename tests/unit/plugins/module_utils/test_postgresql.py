# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.onprem.mlflow.plugins.module_utils import postgresql as pg

# Stored by PostgreSQL 15 for the password "secret1" (password_encryption=scram-sha-256).
SERVER_VERIFIER = ('SCRAM-SHA-256$4096:y8WDzrpk/+u0lEndS5EN6Q==$eq+12UKDEF4+l1LhDcgTTxNEChO7H6OcOvvqUCdUhow='
                   ':Tc3DPN36ooFvVqMJfxOscqToqgjm4y7VGTHFBWVG4fQ=')
# Stored by PostgreSQL 15 for u'p\u00e4ss w\u00f6rd' and for u'I\u00adX' (soft hyphen: SASLprep drops it).
SERVER_VERIFIER_UMLAUTS = ('SCRAM-SHA-256$4096:1H4wbCe7HZ3BiwQ22R2SHQ==$5XaHxebTMjTTwm9xnnbX4JRklJ62WodBf39OQm57SrA='
                           ':K4zng86yCaD5CVrhpvJsgRtgmq07eGAFfcyRtlNC7Qc=')
SERVER_VERIFIER_SOFT_HYPHEN = ('SCRAM-SHA-256$4096:CfR3mVQBP9RYNeLfnVclSQ=='
                               '$qsVA3RSWiGbRP4uR+fzKx1jA3Ua8ULZjm4iaFQHMOKc='
                               ':PNFfKIwUw3XCTDqLTaEXOT2R5qYXJ8uvoPspAXdNcgY=')
# Stored by PostgreSQL 15 for role "c", password "secret" (password_encryption=md5).
SERVER_MD5 = 'md52265f33095301398e9101e21cd74f87c'


def wanted(**kw):
    base = dict(name='mlflow', state='present', owner='mlflow', owner_password='pw',
                owner_hosts=None, encoding=None, collation=None, login_user='postgres')
    base.update(kw)
    return pg.complete(base)


def test_scram_verifier_from_server_matches_only_its_password():
    assert pg.password_matches(SERVER_VERIFIER, 'secret1', 'mlflow_o1') is True
    assert pg.password_matches(SERVER_VERIFIER, 'secret2', 'mlflow_o1') is False


def test_scram_non_ascii_passwords_go_through_saslprep():
    assert pg.password_matches(SERVER_VERIFIER_UMLAUTS, u'p\u00e4ss w\u00f6rd', 'a') is True
    assert pg.password_matches(SERVER_VERIFIER_UMLAUTS, 'pass word', 'a') is False
    assert pg.password_matches(SERVER_VERIFIER_SOFT_HYPHEN, u'I\u00adX', 'b') is True
    assert pg.password_matches(SERVER_VERIFIER_SOFT_HYPHEN, 'IX', 'b') is True


def test_scram_salt_and_iterations_of_the_verifier_are_used():
    other_count = SERVER_VERIFIER.replace('$4096:', '$4097:')
    assert pg.password_matches(other_count, 'secret1', 'x') is False
    salt = SERVER_VERIFIER.split('$')[1].split(':')[1]
    other_salt = SERVER_VERIFIER.replace(salt, 'AAAAAAAAAAAAAAAAAAAAAA==')
    assert pg.password_matches(other_salt, 'secret1', 'x') is False


def test_md5_verifier_from_server():
    assert pg.md5_verifier('secret', 'c') == SERVER_MD5
    assert pg.password_matches(SERVER_MD5, 'secret', 'c') is True
    assert pg.password_matches(SERVER_MD5, 'secret', 'bob') is False
    assert pg.password_matches(SERVER_MD5, 'other', 'c') is False


@pytest.mark.parametrize('stored, expected', [(None, False), ('', False), ('********', None),
                                              ('SCRAM-SHA-256$garbage', None)])
def test_unverifiable_or_missing(stored, expected):
    assert pg.password_matches(stored, 'x', 'r') is expected


def test_saslprep():
    assert pg.saslprep('plain ASCII') == 'plain ASCII'
    assert pg.saslprep(u'I\u00adX') == 'IX'            # soft hyphen mapped to nothing
    assert pg.saslprep(u'a\u00a0b') == 'a b'           # non-ASCII space mapped to space
    assert pg.saslprep(u'\u2168') == 'IX'              # NFKC
    assert pg.saslprep(u'a\u0007b') == u'a\u0007b'     # prohibited: raw password kept


def test_plan_fresh_server_creates_role_then_database():
    result = pg.plan(dict(database=None, role=None), wanted())
    shown = [q.masked() for q in result['queries']]
    assert shown == [
        'CREATE ROLE "mlflow" LOGIN NOSUPERUSER PASSWORD \'********\'',
        'CREATE DATABASE "mlflow" OWNER "mlflow" TEMPLATE template0 ENCODING \'UTF8\'',
    ]
    assert result['owner'] == dict(name='mlflow', exists=True, password_changed=True)
    assert result['before']['database']['exists'] is False
    assert result['after']['database']['exists'] is True
    assert 'pw' not in repr(result)


def test_plan_in_sync_is_empty():
    actual = dict(database=dict(owner='mlflow', encoding='UTF8', collation='C.UTF-8'),
                  role=dict(login=True, superuser=False, password_ok=True))
    result = pg.plan(actual, wanted(encoding='utf-8'))
    assert result['queries'] == []
    assert result['before'] == result['after']
    assert result['warnings'] == []


def test_plan_password_owner_and_attributes():
    actual = dict(database=dict(owner='postgres', encoding='UTF8', collation='C'),
                  role=dict(login=False, superuser=True, password_ok=False))
    result = pg.plan(actual, wanted())
    shown = [q.masked() for q in result['queries']]
    assert shown == ['ALTER ROLE "mlflow" LOGIN NOSUPERUSER',
                     'ALTER ROLE "mlflow" PASSWORD \'********\'',
                     'ALTER DATABASE "mlflow" OWNER TO "mlflow"']
    assert result['owner']['password_changed'] is True


def test_plan_unverifiable_password_is_set_with_warning():
    actual = dict(database=dict(owner='mlflow', encoding='UTF8', collation='C'),
                  role=dict(login=True, superuser=False, password_ok=None))
    result = pg.plan(actual, wanted())
    assert len(result['queries']) == 1 and result['warnings']


def test_plan_encoding_mismatch_warns_and_collation_at_creation():
    actual = dict(database=dict(owner='mlflow', encoding='LATIN1', collation='C'),
                  role=dict(login=True, superuser=False, password_ok=True))
    result = pg.plan(actual, wanted(collation='C'))
    assert result['queries'] == [] and len(result['warnings']) == 1
    created = pg.plan(dict(database=None, role=None), wanted(owner=None, owner_password=None,
                                                             collation='C.UTF-8'))
    assert [q.masked() for q in created['queries']] == [
        'CREATE DATABASE "mlflow" TEMPLATE template0 ENCODING \'UTF8\' LC_COLLATE \'C.UTF-8\'']
    assert created['after']['database']['owner'] == 'postgres'


def test_plan_absent():
    actual = dict(database=dict(owner='mlflow', encoding='UTF8', collation='C'), role=None)
    assert [q.masked() for q in pg.plan(actual, wanted(state='absent'))['queries']] == ['DROP DATABASE "mlflow"']
    assert pg.plan(dict(database=None, role=None), wanted(state='absent'))['queries'] == []


def test_identifiers_are_quoted():
    result = pg.plan(dict(database=None, role=None),
                     wanted(name='we"ird%db', owner='o"wn', owner_password=None))
    shown = [q.masked() for q in result['queries']]
    assert shown == ['CREATE ROLE "o""wn" LOGIN NOSUPERUSER',
                     'CREATE DATABASE "we""ird%db" OWNER "o""wn" TEMPLATE template0 ENCODING \'UTF8\'']


def test_complete_fills_the_encoding_and_refuses_owner_hosts():
    completed = wanted()
    assert completed['encoding'] == 'UTF8'
    assert 'owner_hosts' not in completed
    assert wanted(encoding='LATIN1')['encoding'] == 'LATIN1'
    with pytest.raises(ValueError, match='owner_hosts applies to engine=mysql only'):
        wanted(owner_hosts=['localhost'])


def test_quote_ident():
    assert pg.quote_ident('x"y') == '"x""y"'
    assert pg.quote_ident('My%Db') == '"My%%Db"'
    for bad in ('', 'a\x00b'):
        with pytest.raises(ValueError):
            pg.quote_ident(bad)
