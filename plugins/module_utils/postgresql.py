# -*- coding: utf-8 -*-
# Copyright: onprem.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL side of onprem.mlflow.sql_database.

Offers the same names as ``mysql.py``: the driver check, the login defaults, the
name limits, the completion of the wanted state, identifier quoting, and
connect/read_state/plan. Pure parts: password verifiers and the planner, which
turns the actual and the wanted state into statements; only connect and
read_state talk to the server (through psycopg2).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import hmac
import stringprep
import unicodedata

from ansible_collections.onprem.mlflow.plugins.module_utils.sql import (
    Query,
    check_name,
    percent_escape,
    plan_result,
)

try:
    import psycopg2
    import psycopg2.errors
    DRIVER_ERROR = None
except ImportError as exc:  # pragma: no cover - depends on the controller
    psycopg2 = None
    DRIVER_ERROR = exc

DRIVER = 'psycopg2'
DEFAULT_PORT = 5432
DEFAULT_LOGIN_USER = 'postgres'
# Identifiers are cut at NAMEDATALEN - 1 bytes: refuse longer ones instead.
NAME_LIMITS = dict(name=63, owner=63)
DEFAULT_ENCODING = 'UTF8'


def check_driver():
    """Raise the ImportError of psycopg2 when it is missing."""
    if DRIVER_ERROR is not None:
        raise DRIVER_ERROR


def complete(wanted):
    """``wanted`` (module options) with PostgreSQL's defaults filled in; raises ValueError."""
    if wanted.get('owner_hosts') is not None:
        raise ValueError('owner_hosts applies to engine=mysql only')
    completed = dict(wanted, encoding=wanted.get('encoding') or DEFAULT_ENCODING)
    completed.pop('owner_hosts', None)
    return completed


def quote_ident(name):
    """Quote an identifier (always quoted: case and specials kept), ``%`` escaped for Query."""
    check_name('identifier', name, None)
    return percent_escape('"%s"' % name.replace('"', '""'))


# --------------------------------------------------------------------------
# Password verifiers
# --------------------------------------------------------------------------

def saslprep(password):
    """SASLprep (RFC 4013) as PostgreSQL applies it to SCRAM passwords.

    PostgreSQL falls back to the raw password whenever the prepared form would
    be invalid, so this returns the input unchanged in those cases too.
    """
    if all(0x20 <= ord(c) < 0x7f for c in password):
        return password
    mapped = []
    for c in password:
        if stringprep.in_table_b1(c):
            continue
        mapped.append(u' ' if stringprep.in_table_c12(c) else c)
    prepared = unicodedata.normalize('NFKC', u''.join(mapped))
    if not prepared:
        return password
    prohibited = (
        stringprep.in_table_c12, stringprep.in_table_c21_c22, stringprep.in_table_c3,
        stringprep.in_table_c4, stringprep.in_table_c5, stringprep.in_table_c6,
        stringprep.in_table_c7, stringprep.in_table_c8, stringprep.in_table_c9,
        stringprep.in_table_a1,
    )
    for c in prepared:
        if any(check(c) for check in prohibited):
            return password
    if any(stringprep.in_table_d1(c) for c in prepared):
        if any(stringprep.in_table_d2(c) for c in prepared):
            return password
        if not (stringprep.in_table_d1(prepared[0]) and stringprep.in_table_d1(prepared[-1])):
            return password
    return prepared


def parse_scram_verifier(stored):
    """Split ``SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>``; None if not one."""
    try:
        mech, iter_salt, keys = stored.split('$')
        if mech != 'SCRAM-SHA-256':
            return None
        iterations, salt = iter_salt.split(':')
        stored_key, server_key = keys.split(':')
        return dict(
            iterations=int(iterations),
            salt=base64.b64decode(salt),
            stored_key=base64.b64decode(stored_key),
            server_key=base64.b64decode(server_key),
        )
    except (ValueError, TypeError, AttributeError):
        return None


def scram_keys(password, salt, iterations):
    """(StoredKey, ServerKey) of SCRAM-SHA-256 for a password, salt and count."""
    salted = hashlib.pbkdf2_hmac('sha256', saslprep(password).encode('utf-8'), salt, iterations)
    client_key = hmac.new(salted, b'Client Key', hashlib.sha256).digest()
    server_key = hmac.new(salted, b'Server Key', hashlib.sha256).digest()
    return hashlib.sha256(client_key).digest(), server_key


def md5_verifier(password, role):
    return 'md5' + hashlib.md5((password + role).encode('utf-8')).hexdigest()


def password_matches(stored, password, role):
    """Does the stored rolpassword belong to ``password``?

    True/False for SCRAM-SHA-256 and md5 verifiers, False when there is no
    password, None when the stored form cannot be checked (e.g. masked).
    """
    if stored is None or stored == '':
        return False
    if stored.startswith('SCRAM-SHA-256$'):
        parsed = parse_scram_verifier(stored)
        if parsed is None:
            return None
        stored_key, server_key = scram_keys(password, parsed['salt'], parsed['iterations'])
        return (hmac.compare_digest(stored_key, parsed['stored_key'])
                and hmac.compare_digest(server_key, parsed['server_key']))
    if stored.startswith('md5') and len(stored) == 35:
        return hmac.compare_digest(stored, md5_verifier(password, role))
    return None


# --------------------------------------------------------------------------
# Planner
# --------------------------------------------------------------------------

def normalize_encoding(name):
    return None if name is None else name.upper().replace('-', '').replace('_', '')


def plan(actual, wanted):
    """Statements that turn ``actual`` into ``wanted``, plus the result.

    ``actual``: ``{'database': None | {'owner', 'encoding', 'collation'},
    'role': None | {'login', 'superuser', 'password_ok'}}``; ``password_ok`` is
    True/False/None (None: could not be checked).
    ``wanted``: name, state, owner, owner_password, encoding, collation, login_user,
    as completed by complete().

    Returns a dict: queries (list of Query), database, owner, before, after,
    warnings.
    """
    name = wanted['name']
    owner = wanted.get('owner')
    password = wanted.get('owner_password')
    db = actual.get('database')
    role = actual.get('role')
    queries = []
    warnings = []
    password_changed = False
    qdb = quote_ident(name)

    before_db = dict(name=name, exists=db is not None,
                     owner=db and db['owner'], encoding=db and db['encoding'],
                     collation=db and db['collation'])
    after_db = dict(before_db)
    owner_name = owner if owner is not None else (db['owner'] if db else None)
    before_owner = dict(name=owner_name, exists=role is not None if owner else db is not None)
    after_owner = dict(before_owner)

    if wanted['state'] == 'absent':
        if db is not None:
            queries.append(Query('DROP DATABASE %s' % qdb))
            after_db.update(exists=False, owner=None, encoding=None, collation=None)
    else:
        if owner is not None:
            qrole = quote_ident(owner)
            if role is None:
                if password is not None:
                    queries.append(Query('CREATE ROLE %s LOGIN NOSUPERUSER PASSWORD %%s' % qrole,
                                         (password,), secret=(0,)))
                    password_changed = True
                else:
                    queries.append(Query('CREATE ROLE %s LOGIN NOSUPERUSER' % qrole))
                after_owner['exists'] = True
            else:
                if not role['login'] or role['superuser']:
                    queries.append(Query('ALTER ROLE %s LOGIN NOSUPERUSER' % qrole))
                if password is not None and role.get('password_ok') is not True:
                    if role.get('password_ok') is None:
                        warnings.append('The stored password of role %s could not be verified '
                                        '(login_user needs to read pg_authid); it is set again.' % owner)
                    queries.append(Query('ALTER ROLE %s PASSWORD %%s' % qrole, (password,), secret=(0,)))
                    password_changed = True
        encoding = wanted['encoding']
        collation = wanted.get('collation')
        if db is None:
            sql = 'CREATE DATABASE %s' % qdb
            if owner is not None:
                sql += ' OWNER %s' % quote_ident(owner)
            sql += ' TEMPLATE template0 ENCODING %s'
            params = [encoding]
            if collation:
                sql += ' LC_COLLATE %s'
                params.append(collation)
            queries.append(Query(sql, params))
            after_db.update(exists=True, owner=owner or wanted.get('login_user'),
                            encoding=encoding.upper(), collation=collation or None)
        else:
            if owner is not None and db['owner'] != owner:
                queries.append(Query('ALTER DATABASE %s OWNER TO %s' % (qdb, quote_ident(owner))))
                after_db['owner'] = owner
            if normalize_encoding(db['encoding']) != normalize_encoding(encoding):
                warnings.append('Database %s has encoding %s, not %s; the encoding of an existing '
                                'PostgreSQL database cannot be changed (dump, drop and recreate it).'
                                % (name, db['encoding'], encoding))
            if collation and db['collation'] != collation:
                warnings.append('Database %s has LC_COLLATE %s, not %s; it can only be set at '
                                'creation.' % (name, db['collation'], collation))

    return plan_result(queries, warnings, before_db, after_db, before_owner, after_owner, password_changed)


# --------------------------------------------------------------------------
# Server access (psycopg2)
# --------------------------------------------------------------------------

def connect(conn):
    """Open an autocommit connection to the ``postgres`` maintenance database."""
    kwargs = dict(dbname='postgres', user=conn['user'], port=conn['port'],
                  connect_timeout=conn['connect_timeout'])
    host = conn.get('unix_socket') or conn.get('host')
    if host:
        kwargs['host'] = host
    if conn.get('password') is not None:
        kwargs['password'] = conn['password']
    db = psycopg2.connect(**kwargs)
    db.autocommit = True
    return db


def read_state(db, wanted, conn):
    """Read the actual state of the database and of the owner role of ``wanted``.

    ``conn`` (the login parameters) is not needed here: passwords are checked
    against the stored verifier.
    """
    name, owner, owner_password = wanted['name'], wanted.get('owner'), wanted.get('owner_password')
    cur = db.cursor()
    cur.execute(
        'SELECT pg_catalog.pg_get_userbyid(datdba), pg_catalog.pg_encoding_to_char(encoding), '
        'datcollate FROM pg_catalog.pg_database WHERE datname = %s', (name,))
    row = cur.fetchone()
    database = None if row is None else dict(owner=row[0], encoding=row[1], collation=row[2])
    role = None
    if owner is not None:
        try:
            cur.execute('SELECT rolcanlogin, rolsuper, rolpassword FROM pg_catalog.pg_authid '
                        'WHERE rolname = %s', (owner,))
            row = cur.fetchone()
            readable = True
        except psycopg2.errors.InsufficientPrivilege:
            cur.execute('SELECT rolcanlogin, rolsuper, NULL FROM pg_catalog.pg_roles '
                        'WHERE rolname = %s', (owner,))
            row = cur.fetchone()
            readable = False
        if row is not None:
            role = dict(login=row[0], superuser=row[1], password_ok=None)
            if owner_password is not None and readable:
                role['password_ok'] = password_matches(row[2], owner_password, owner)
    cur.close()
    return dict(database=database, role=role)
