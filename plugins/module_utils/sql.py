# -*- coding: utf-8 -*-
# Copyright: onprem.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine-neutral pieces of onprem.mlflow.sql_database.

The connection argument spec (documented by the ``onprem.mlflow.sql_connection``
doc fragment), a small query record that knows how to mask secrets, and
identifier quoting helpers. Nothing here imports a database driver, so the unit
tests can use it without psycopg2 or PyMySQL.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

MASK = '********'

ENGINES = ('postgresql', 'mysql')

DEFAULT_PORTS = {'postgresql': 5432, 'mysql': 3306}
DEFAULT_LOGIN_USERS = {'postgresql': 'postgres', 'mysql': 'root'}


def connection_argument_spec():
    """Options shared by every module that logs into a SQL server."""
    return dict(
        login_host=dict(type='str'),
        login_port=dict(type='int'),
        login_user=dict(type='str'),
        login_password=dict(type='str', no_log=True),
        login_unix_socket=dict(type='str'),
        connect_timeout=dict(type='int', default=10),
    )


def connection_params(engine, params):
    """Resolve the login options of ``params`` (module params) for ``engine``.

    Returns a plain dict: host, port, user, password, unix_socket, connect_timeout.
    """
    return dict(
        host=params.get('login_host'),
        port=params.get('login_port') or DEFAULT_PORTS[engine],
        user=params.get('login_user') or DEFAULT_LOGIN_USERS[engine],
        password=params.get('login_password'),
        unix_socket=params.get('login_unix_socket'),
        connect_timeout=params.get('connect_timeout') or 10,
    )


def check_name(kind, value, max_bytes=63):
    """Reject names no server accepts before anything is sent; return the value."""
    if value is None:
        return value
    if value == '':
        raise ValueError('%s must not be empty' % kind)
    if '\x00' in value:
        raise ValueError('%s %r contains a NUL character' % (kind, value))
    if max_bytes and len(value.encode('utf-8')) > max_bytes:
        raise ValueError('%s %r is longer than %d bytes' % (kind, value, max_bytes))
    return value


def _literal(value):
    if value is None:
        return 'NULL'
    if isinstance(value, bool):
        return 'TRUE' if value else 'FALSE'
    if isinstance(value, int):
        return str(value)
    return "'%s'" % str(value).replace("'", "''")


class Query(object):
    """One SQL statement with driver-bound parameters.

    ``sql`` uses ``%s`` placeholders (a literal ``%`` is written ``%%``), so it is
    executed with parameters by both psycopg2 and PyMySQL. ``secret`` holds the
    indexes of parameters that must never be shown.
    """

    def __init__(self, sql, params=(), secret=()):
        self.sql = sql
        self.params = tuple(params)
        self.secret = frozenset(secret)

    def masked(self):
        """The statement as shown to users: literals inlined, secrets masked."""
        shown = tuple(
            _literal(MASK) if i in self.secret else _literal(p)
            for i, p in enumerate(self.params)
        )
        return self.sql % shown

    def __eq__(self, other):
        return isinstance(other, Query) and (self.sql, self.params) == (other.sql, other.params)

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash((self.sql, self.params))

    def __repr__(self):
        return 'Query(%r)' % self.masked()


def percent_escape(text):
    """Escape ``%`` for a statement executed with parameters."""
    return text.replace('%', '%%')


def quote_pg_ident(name):
    """Quote a PostgreSQL identifier (always quoted: case and specials kept)."""
    check_name('identifier', name, max_bytes=None)
    return percent_escape('"%s"' % name.replace('"', '""'))


def quote_mysql_ident(name):
    """Quote a MySQL/MariaDB identifier with backticks."""
    check_name('identifier', name, max_bytes=None)
    return percent_escape('`%s`' % name.replace('`', '``'))


def mysql_db_pattern(name):
    """Database name as a GRANT pattern: ``_`` and ``%`` are wildcards there.

    Escaping them makes ``GRANT ... ON `my\\_db`.*`` apply to ``my_db`` only.
    """
    return name.replace('\\', '\\\\').replace('_', '\\_').replace('%', '\\%')


def plan_result(queries, warnings, before_db, after_db, before_owner, after_owner):
    """The plan every engine returns: the queries to run and the state before and after them."""
    return dict(
        queries=queries,
        warnings=warnings,
        database=after_db,
        owner=dict(after_owner),
        before=dict(database=before_db, owner=dict(before_owner)),
        after=dict(database=after_db, owner=dict(after_owner)),
    )


def diff_dicts(before, after):
    """Keys (dotted) whose values differ between two nested dicts."""
    changed = []
    for key in sorted(set(before) | set(after)):
        b, a = before.get(key), after.get(key)
        if isinstance(b, dict) and isinstance(a, dict):
            changed.extend('%s.%s' % (key, sub) for sub in diff_dicts(b, a))
        elif b != a:
            changed.append(key)
    return changed
