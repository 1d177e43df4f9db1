# -*- coding: utf-8 -*-
# Copyright: onprem.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the engines of onprem.mlflow.sql_database share.

The login options (documented by the ``onprem.mlflow.sql_connection`` doc
fragment), the checks every name goes through, the statement record that masks
secrets, the shape of a plan and running it. Everything that differs between
PostgreSQL and MySQL/MariaDB (driver, defaults, name limits, quoting, reading
and planning) lives in ``postgresql.py`` and ``mysql.py``, which offer the same
names. Nothing here imports a database driver.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

MASK = '********'


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


def connection_params(params, default_port, default_user):
    """Resolve the login options of ``params`` (module params) with an engine's defaults.

    Returns a plain dict: host, port, user, password, unix_socket, connect_timeout.
    """
    return dict(
        host=params.get('login_host'),
        port=params.get('login_port') or default_port,
        user=params.get('login_user') or default_user,
        password=params.get('login_password'),
        unix_socket=params.get('login_unix_socket'),
        connect_timeout=params.get('connect_timeout') or 10,
    )


def check_name(kind, value, max_bytes):
    """Reject names no server accepts before anything is sent; return the value.

    ``max_bytes`` is the engine's limit (UTF-8 bytes); None for no limit.
    """
    if value is None:
        return value
    if value == '':
        raise ValueError('%s must not be empty' % kind)
    if '\x00' in value:
        raise ValueError('%s %r contains a NUL character' % (kind, value))
    if max_bytes and len(value.encode('utf-8')) > max_bytes:
        raise ValueError('%s %r is longer than %d bytes' % (kind, value, max_bytes))
    return value


def percent_escape(text):
    """Escape ``%`` for a statement executed with parameters (see Query)."""
    return text.replace('%', '%%')


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


def plan_result(queries, warnings, before_db, after_db, before_owner, after_owner, password_changed):
    """The plan every engine returns: the queries to run and the state before and after them."""
    before_owner = dict(before_owner, password_changed=False)
    after_owner = dict(after_owner, password_changed=password_changed)
    return dict(
        queries=queries,
        warnings=warnings,
        database=after_db,
        owner=dict(after_owner),
        before=dict(database=before_db, owner=before_owner),
        after=dict(database=after_db, owner=after_owner),
    )


def execute(db, queries):
    """Run ``queries`` (Query records) in order on a DB-API connection."""
    cur = db.cursor()
    try:
        for query in queries:
            cur.execute(query.sql, query.params)
    finally:
        cur.close()
