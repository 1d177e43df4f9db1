# -*- coding: utf-8 -*-
# Copyright: onprem.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""MySQL / MariaDB side of onprem.mlflow.sql_database.

Offers the same names as ``postgresql.py``: the driver check, the login
defaults, the name limits, the completion of the wanted state, identifier
quoting, and connect/read_state/plan. Pure parts: password hashes, SHOW GRANTS
parsing and the planner; only connect and read_state talk to the server
(through PyMySQL).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import hmac
import re

from ansible_collections.onprem.mlflow.plugins.module_utils.sql import (
    Query,
    check_name,
    percent_escape,
    plan_result,
)

try:
    import pymysql
    DRIVER_ERROR = None
except ImportError as exc:  # pragma: no cover - depends on the controller
    pymysql = None
    DRIVER_ERROR = exc

DRIVER = 'PyMySQL'
DEFAULT_PORT = 3306
DEFAULT_LOGIN_USER = 'root'
# Longest names in bytes: database, user name (MariaDB), host part of an account.
NAME_LIMITS = dict(name=64, owner=80, owner_hosts=255)
DEFAULT_CHARSET = 'utf8mb4'
DEFAULT_HOSTS = ('localhost',)


def check_driver():
    """Raise the ImportError of PyMySQL when it is missing."""
    if DRIVER_ERROR is not None:
        raise DRIVER_ERROR


def complete(wanted):
    """``wanted`` (module options) with MySQL's defaults filled in; raises ValueError."""
    hosts = wanted['owner_hosts'] if wanted.get('owner_hosts') is not None else list(DEFAULT_HOSTS)
    if wanted['owner'] is not None and not hosts:
        raise ValueError('owner_hosts must list at least one host when owner is set')
    for host in hosts:
        check_name('owner_hosts entry', host, NAME_LIMITS['owner_hosts'])
    charset = check_charset_name('encoding', wanted['encoding'] or DEFAULT_CHARSET)
    collation = check_charset_name('collation', wanted['collation'] or default_collation(charset))
    return dict(wanted, owner_hosts=list(dict.fromkeys(hosts)), encoding=charset, collation=collation)


def quote_ident(name):
    """Quote an identifier with backticks, ``%`` escaped for Query."""
    check_name('identifier', name, None)
    return percent_escape('`%s`' % name.replace('`', '``'))


def db_pattern(name):
    """Database name as a GRANT pattern: ``_`` and ``%`` are wildcards there.

    Escaping them makes ``GRANT ... ON `my\\_db`.*`` apply to ``my_db`` only.
    """
    return name.replace('\\', '\\\\').replace('_', '\\_').replace('%', '\\%')


# --------------------------------------------------------------------------
# Character sets
# --------------------------------------------------------------------------

CHARSET_NAME = re.compile(r'^[A-Za-z0-9_]{1,64}$')


def check_charset_name(kind, value):
    if value is not None and not CHARSET_NAME.match(value):
        raise ValueError('%s %r is not a valid character set or collation name' % (kind, value))
    return value


def default_collation(charset):
    return 'utf8mb4_unicode_ci' if charset.lower() == 'utf8mb4' else None


def normalize_charset(name):
    if name is None:
        return None
    name = name.lower()
    return {'utf8': 'utf8mb3'}.get(name, name)


def normalize_collation(name):
    if name is None:
        return None
    name = name.lower()
    return name.replace('utf8_', 'utf8mb3_', 1) if name.startswith('utf8_') else name


# --------------------------------------------------------------------------
# Passwords
# --------------------------------------------------------------------------

NATIVE_PLUGINS = ('mysql_native_password', '')


def native_password_hash(password):
    """``mysql_native_password`` hash: ``*`` + HEX(SHA1(SHA1(password)))."""
    inner = hashlib.sha1(password.encode('utf-8')).digest()
    return '*' + hashlib.sha1(inner).hexdigest().upper()


# Ed25519 (RFC 8032) arithmetic, only what MariaDB's auth_ed25519 needs: its stored
# authentication_string is base64 (unpadded) of the public key whose secret scalar is
# the clamped first half of SHA-512(password).
_P = 2 ** 255 - 19
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _ed_add(a, b):
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    e1 = (y1 - x1) * (y2 - x2) % _P
    e2 = (y1 + x1) * (y2 + x2) % _P
    c = 2 * t1 * t2 * _D % _P
    d = 2 * z1 * z2 % _P
    e, f, g, h = e2 - e1, d - c, d + c, e2 + e1
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _ed_base():
    y = 4 * pow(5, _P - 2, _P) % _P
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _SQRT_M1 % _P
    if x & 1:
        x = _P - x
    return (x, y, 1, x * y % _P)


def ed25519_password_hash(password):
    """authentication_string MariaDB stores for ``IDENTIFIED VIA ed25519 USING PASSWORD(...)``."""
    digest = hashlib.sha512(password.encode('utf-8')).digest()
    scalar = int.from_bytes(digest[:32], 'little')
    scalar &= (1 << 254) - 8
    scalar |= 1 << 254
    point, acc = _ed_base(), (0, 1, 1, 0)
    while scalar:
        if scalar & 1:
            acc = _ed_add(acc, point)
        point = _ed_add(point, point)
        scalar >>= 1
    zinv = pow(acc[2], _P - 2, _P)
    x, y = acc[0] * zinv % _P, acc[1] * zinv % _P
    public = (y | ((x & 1) << 255)).to_bytes(32, 'little')
    return base64.b64encode(public).decode('ascii').rstrip('=')


def password_matches(plugin, auth_string, password):
    """True/False when the stored hash can be checked offline, else None.

    ``mysql_native_password`` and MariaDB ``ed25519`` are checked by hash. Other
    plugins (caching_sha2_password, parsec, ...) return None: the caller then
    verifies by logging in.
    """
    if plugin in NATIVE_PLUGINS:
        if not auth_string:
            return password == ''
        return hmac.compare_digest(auth_string.upper(), native_password_hash(password))
    if plugin == 'ed25519' and auth_string:
        return hmac.compare_digest(auth_string.rstrip('='), ed25519_password_hash(password))
    return None


# --------------------------------------------------------------------------
# Grants
# --------------------------------------------------------------------------

GRANT_LINE = re.compile(r'^GRANT (?P<privs>.+?) ON (?P<target>.+?) TO (?P<grantee>.+?)'
                        r'(?P<rest>(?: IDENTIFIED .*| WITH .*| REQUIRE .*)?)$', re.DOTALL)


def parse_grants(lines):
    """Sum up SHOW GRANTS lines: {target: {'privs': str, 'grant_option': bool}}.

    Role grants (no ``ON``) are ignored. Targets are kept as printed, e.g.
    ``*.*`` or ``\\`my\\\\_db\\`.*``.
    """
    grants = {}
    for line in lines:
        match = GRANT_LINE.match(line.strip())
        if not match:
            continue
        privs = match.group('privs').strip()
        if privs.upper().startswith('PROXY'):
            continue
        entry = grants.setdefault(match.group('target').strip(), dict(privs=[], grant_option=False))
        entry['privs'].append(privs)
        if 'WITH GRANT OPTION' in line.upper():
            entry['grant_option'] = True
    return dict((k, dict(privs=', '.join(v['privs']), grant_option=v['grant_option']))
                for k, v in grants.items())


def grant_queries(grant_lines, db_name, user, host):
    """Statements so that user@host holds ALL PRIVILEGES on the database and no global privilege."""
    grants = parse_grants(grant_lines)
    target = '%s.*' % quote_ident(db_pattern(db_name))
    shown_target = target.replace('%%', '%')
    queries = []
    db_grant = grants.get(shown_target)
    if db_grant is None or db_grant['privs'].upper() != 'ALL PRIVILEGES':
        queries.append(Query('GRANT ALL PRIVILEGES ON %s TO %%s@%%s' % target, (user, host)))
    if db_grant is not None and db_grant['grant_option']:
        queries.append(Query('REVOKE GRANT OPTION ON %s FROM %%s@%%s' % target, (user, host)))
    global_grant = grants.get('*.*')
    if global_grant is not None:
        privs = [p.strip().upper() for p in global_grant['privs'].split(',')]
        if any(p != 'USAGE' for p in privs):
            queries.append(Query('REVOKE ALL PRIVILEGES ON *.* FROM %s@%s', (user, host)))
        if global_grant['grant_option']:
            queries.append(Query('REVOKE GRANT OPTION ON *.* FROM %s@%s', (user, host)))
    return queries


# --------------------------------------------------------------------------
# Planner
# --------------------------------------------------------------------------

def plan(actual, wanted):
    """Statements that turn ``actual`` into ``wanted``, plus the result.

    ``actual``: ``{'database': None | {'charset', 'collation'},
    'accounts': {host: {'password_ok': True|False|None, 'grants': [SHOW GRANTS lines]}}}``.
    ``wanted``: name, state, owner, owner_password, owner_hosts, encoding, collation,
    as completed by complete().
    """
    name = wanted['name']
    owner = wanted.get('owner')
    password = wanted.get('owner_password')
    hosts = wanted.get('owner_hosts') or []
    db = actual.get('database')
    accounts = actual.get('accounts') or {}
    qdb = quote_ident(name)
    queries = []
    warnings = []
    password_changed = False

    before_db = dict(name=name, exists=db is not None, owner=owner,
                     encoding=db and db['charset'], collation=db and db['collation'])
    after_db = dict(before_db)
    before_owner = dict(name=owner, exists=bool(owner) and all(h in accounts for h in hosts))
    if owner:
        before_owner['hosts'] = sorted(h for h in hosts if h in accounts)
    after_owner = dict(before_owner)

    if wanted['state'] == 'absent':
        if db is not None:
            queries.append(Query('DROP DATABASE %s' % qdb))
            after_db.update(exists=False, encoding=None, collation=None)
    else:
        charset, collation = wanted['encoding'], wanted.get('collation')
        clause = ' CHARACTER SET %s' % charset + (' COLLATE %s' % collation if collation else '')
        if db is None:
            queries.append(Query('CREATE DATABASE %s%s' % (qdb, clause)))
            after_db.update(exists=True, encoding=charset, collation=collation)
        elif (normalize_charset(db['charset']) != normalize_charset(charset)
              or (collation and normalize_collation(db['collation']) != normalize_collation(collation))):
            queries.append(Query('ALTER DATABASE %s%s' % (qdb, clause)))
            after_db.update(encoding=charset, collation=collation or db['collation'])
        if owner:
            for host in hosts:
                account = accounts.get(host)
                if account is None:
                    if password is None:
                        raise ValueError('owner_password is required to create the account %s@%s'
                                         % (owner, host))
                    queries.append(Query('CREATE USER %s@%s IDENTIFIED BY %s', (owner, host, password),
                                         secret=(2,)))
                    password_changed = True
                    queries.extend(grant_queries([], name, owner, host))
                    continue
                if password is not None and account.get('password_ok') is not True:
                    if account.get('password_ok') is None:
                        warnings.append('The password of %s@%s could not be verified (its plugin keeps no '
                                        'checkable hash and logging in as it was not possible); it is set '
                                        'again.' % (owner, host))
                    queries.append(Query('ALTER USER %s@%s IDENTIFIED BY %s', (owner, host, password),
                                         secret=(2,)))
                    password_changed = True
                queries.extend(grant_queries(account.get('grants') or [], name, owner, host))
            after_owner.update(exists=True, hosts=sorted(hosts))
    return plan_result(queries, warnings, before_db, after_db, before_owner, after_owner, password_changed)


# --------------------------------------------------------------------------
# Server access (PyMySQL)
# --------------------------------------------------------------------------

def _connect_kwargs(conn, user, password):
    kwargs = dict(user=user, connect_timeout=conn['connect_timeout'], charset='utf8mb4', autocommit=True)
    if conn.get('unix_socket'):
        kwargs['unix_socket'] = conn['unix_socket']
    else:
        kwargs['host'] = conn.get('host') or 'localhost'
        kwargs['port'] = conn['port']
    if password is not None:
        kwargs['password'] = password
    return kwargs


def connect(conn):
    return pymysql.connect(**_connect_kwargs(conn, conn['user'], conn.get('password')))


def verify_by_login(conn, user, host, password):
    """True when logging in as ``user`` with ``password`` lands on exactly user@host.

    None when it cannot be told (login refused, or another account matched):
    a refused login says nothing about user@host unless the server picked it.
    """
    try:
        other = pymysql.connect(**_connect_kwargs(conn, user, password))
    except Exception:  # pylint: disable=broad-except
        # Refused, or the client lacks what the plugin needs (e.g. RSA for caching_sha2_password).
        return None
    try:
        cur = other.cursor()
        cur.execute('SELECT CURRENT_USER()')
        current = cur.fetchone()[0]
    finally:
        other.close()
    return True if current == '%s@%s' % (user, host) else None


def read_state(db, wanted, conn):
    """Read the actual state of the database and of the accounts of ``wanted``.

    ``conn`` (the login parameters) is used to verify by logging in the
    passwords whose plugin keeps no hash that can be checked offline.
    """
    cur = db.cursor()
    cur.execute('SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA '
                'WHERE SCHEMA_NAME = %s', (wanted['name'],))
    row = cur.fetchone()
    database = None if row is None else dict(charset=row[0], collation=row[1])
    accounts = {}
    owner = wanted.get('owner')
    if owner:
        cur.execute('SELECT Host, plugin, HEX(authentication_string) FROM mysql.user WHERE User = %s', (owner,))
        rows = cur.fetchall()
        for host, plugin, auth_hex in rows:
            if host not in wanted['owner_hosts']:
                continue
            auth = bytes.fromhex(auth_hex or '').decode('latin-1')
            password_ok = None
            if wanted.get('owner_password') is not None:
                password_ok = password_matches(plugin, auth, wanted['owner_password'])
                if password_ok is None:
                    password_ok = verify_by_login(conn, owner, host, wanted['owner_password'])
            cur.execute('SHOW GRANTS FOR %s@%s', (owner, host))
            grants = [r[0] for r in cur.fetchall()]
            accounts[host] = dict(plugin=plugin, password_ok=password_ok, grants=grants)
    cur.close()
    return dict(database=database, accounts=accounts)
