# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup and restore of one MLflow server's state: its database and its artifact bucket prefix.

Run as root with the MLflow venv's Python and the server's environment file, e.g. by a systemd
oneshot service with ``EnvironmentFile=/etc/mlflow/mlflow.env``::

    /opt/mlflow/venv/bin/python mlflow_backup.py create --dir /var/backups/mlflow \\
        --artifacts-destination s3://mlflow/artifacts --keep 7
    /opt/mlflow/venv/bin/python mlflow_backup.py verify --backup /var/backups/mlflow/20250101T020000Z
    /opt/mlflow/venv/bin/python mlflow_backup.py restore --backup /var/backups/mlflow/20250101T020000Z \\
        --artifacts-destination s3://mlflow/artifacts
    /opt/mlflow/venv/bin/python mlflow_backup.py list --dir /var/backups/mlflow

Environment: MLFLOW_BACKEND_STORE_URI (postgresql+psycopg2://... or mysql+pymysql://..., the
password URL-encoded), MLFLOW_S3_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and, when
set, AWS_CA_BUNDLE (boto3's ``verify``).

Subcommands (each prints one JSON object on stdout when it succeeds):

create
    Writes DIR/<UTC stamp YYYYmmddTHHMMSSZ>.partial/ and renames it to DIR/<stamp>/ only once it is
    complete, so a directory named like a stamp is a complete backup. Contents: database.dump
    (``pg_dump -Fc``) or database.sql.gz (``mariadb-dump --single-transaction``, gzip),
    artifacts/<object key relative to the prefix> (one file per object, its sha256 computed while
    it is written) and manifest.json (format 1). THE DATABASE IS DUMPED FIRST, THEN THE BUCKET IS
    LISTED AND COPIED: an object that a row of the dump points to was written before the dump (or
    is written afterwards), and MLflow deletes artifacts only through its garbage collection,
    which takes the same lock; so the copy holds every artifact the dump references, plus perhaps
    a few newer ones that no row of the dump references. The other order would miss what was
    logged between the copy and the dump. An object whose key, size and ETag are those of the
    newest complete backup's manifest is hard-linked from it instead of downloaded. After success
    the newest --keep complete backups stay; older ones and stale *.partial directories are
    deleted. Directories are created 0700, files 0600.
verify
    Checks a backup against its manifest: dump file and every object present with the recorded
    size and sha256, no unlisted file under artifacts/, totals equal to the list.
restore
    Verifies first and refuses (exit 2) before changing anything when the backup does not match
    its manifest, was made from another database engine, or by a newer MLflow than the installed
    one. Then the database holds exactly the backup's tables and rows (every table, view and
    sequence of the database is dropped first; PostgreSQL: the ``pg_restore --clean --if-exists
    --no-owner --no-privileges --exit-on-error`` script runs after the drops in ONE transaction
    through psql, so a failure changes nothing; MariaDB: the dump is loaded after the drops in one
    client session, which MariaDB cannot make atomic) and the bucket prefix holds exactly the
    backup's objects: extra keys deleted, missing or different ones uploaded, identical ones
    (same size, and the MD5 ETag of a single-part object equal to the file's MD5, or a multipart
    ETag still equal to the one recorded at backup time) left alone. It neither stops nor starts
    any service: whoever runs it stops MLflow first.
list
    The complete backups of DIR, newest first.

create and restore hold an exclusive flock on --lock-file (default
/run/lock/mlflow-maintenance.lock, shared with the garbage collection job) for the whole run and
fail at once when another job holds it.

Exit codes: 0 success; 2 refused because the backup does not match (its manifest, the database
engine or the installed MLflow version); 1 any other failure. Errors are one line on stderr.

Secrets: the database password is never put on a command line, in an error message or in the
output. The client tools read it from a 0600 file in a private temporary directory, removed
afterwards (PGPASSFILE for pg_dump/psql, ``--defaults-extra-file`` for the mariadb tools); the TLS
settings of the URI go the same way (sslmode/sslrootcert -> PGSSLMODE/PGSSLROOTCERT, ssl_ca ->
ssl-ca and ssl-verify-server-cert).

The installed MLflow version is the ``mlflow`` distribution's (importlib.metadata, MLflow is not
imported). Where it is not installed, create and restore need --mlflow-version.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import contextlib
import errno
import fcntl
import gzip
import hashlib
import json
import mimetypes
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

FORMAT = 1
PROG = 'mlflow_backup'
DEFAULT_LOCK = '/run/lock/mlflow-maintenance.lock'
STAMP = re.compile(r'^[0-9]{8}T[0-9]{6}Z$')
PARTIAL_SUFFIX = '.partial'
MANIFEST = 'manifest.json'
ARTIFACTS = 'artifacts'
DB_FILES = {'postgresql': 'database.dump', 'mysql': 'database.sql.gz'}
CHUNK = 1024 * 1024
MAX_PROBLEMS = 20
SHA256 = re.compile(r'^[0-9a-f]{64}$')

# Worker threads of the downloads (create) and uploads (restore): --jobs.
JOBS = [4]
# Values that must never be printed: the database password, the S3 secret key.
_SECRETS = []
# The lock file stays open (and locked) until the process ends.
_LOCK_HANDLE = []


class Refused(Exception):
    """The backup does not match (manifest, engine, MLflow version): exit 2, nothing changed."""


class Failure(Exception):
    """Any other failure: exit 1."""


class ArgumentParser(argparse.ArgumentParser):
    """Usage errors exit 1 (exit 2 means a refused backup)."""

    def error(self, message):
        self.exit(1, '%s: error: %s\n' % (PROG, message))


# --- small helpers ------------------------------------------------------------------------------

def add_secret(value):
    if value:
        from urllib.parse import quote, quote_plus
        for form in (value, quote(value, safe=''), quote_plus(value), quote(value)):
            if form and form not in _SECRETS:
                _SECRETS.append(form)


def scrub(text):
    text = str(text)
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, '********')
    return text


def one_line(text, limit=2000):
    text = ' '.join(scrub(text).split())
    return text if len(text) <= limit else text[:limit] + '...'


def positive_int(value):
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError('%r is not an integer' % value) from None
    if number < 1:
        raise argparse.ArgumentTypeError('must be at least 1, not %d' % number)
    return number


def make_dirs(path):
    """Create path and missing parents, each new one 0700."""
    if not os.path.isdir(path):
        parent = os.path.dirname(path.rstrip(os.sep))
        if parent and parent != path:
            make_dirs(parent)
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o700)


def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def open_new(path):
    """A new file, 0600, for binary writing."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    return os.fdopen(fd, 'wb')


def write_private(directory, name, text):
    with open_new(os.path.join(directory, name)) as handle:
        handle.write(text.encode('utf-8'))
    return os.path.join(directory, name)


def digest(path, md5=False):
    """(bytes, sha256, md5 or None) of a file."""
    sha = hashlib.sha256()
    md = hashlib.md5(usedforsecurity=False) if md5 else None  # compared with S3 ETags only
    size = 0
    with open(path, 'rb') as handle:
        while True:
            chunk = handle.read(CHUNK)
            if not chunk:
                break
            size += len(chunk)
            sha.update(chunk)
            if md is not None:
                md.update(chunk)
    return size, sha.hexdigest(), md.hexdigest() if md is not None else None


def key_parts(rel):
    """The path components of an object key relative to the prefix; None when it cannot be a file."""
    parts = rel.split('/')
    if not rel or any(part in ('', '.', '..') or '\0' in part for part in parts):
        return None
    return parts


@contextlib.contextmanager
def private_dir():
    path = tempfile.mkdtemp(prefix='mlflow-backup-')
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def take_lock(path):
    make_dirs(os.path.dirname(os.path.abspath(path)))
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise Failure('another maintenance job holds the lock %s (a backup, restore or garbage collection '
                          'is running); try again when it has finished' % path) from None
        raise
    _LOCK_HANDLE.append(fd)


def mlflow_version(option):
    """The installed MLflow version; --mlflow-version only where mlflow is not installed."""
    from importlib import metadata
    try:
        installed = metadata.version('mlflow')
    except metadata.PackageNotFoundError:
        installed = None
    if installed is None:
        if not option:
            raise Failure('the mlflow distribution is not installed in this Python (%s): run with the MLflow '
                          "venv's python, or give --mlflow-version" % sys.executable)
        return option
    if option and option != installed:
        raise Failure('--mlflow-version %s differs from the installed mlflow %s (the option is only for a Python '
                      'without mlflow)' % (option, installed))
    return installed


def parse_destination(value):
    match = re.match(r'^s3://([^/]+)/*(.*?)/*$', value or '')
    if not match:
        raise Failure('--artifacts-destination must be s3://BUCKET[/PREFIX], not %r' % value)
    return match.group(1), match.group(2)


def which(name):
    path = shutil.which(name)
    if not path:
        raise Failure('%s is not installed (not found in PATH %s)' % (name, os.environ.get('PATH', '')))
    return path


def stderr_tail(path, lines=6):
    try:
        with open(path, 'rb') as handle:
            text = handle.read()[-8000:].decode('utf-8', 'replace')
    except OSError:
        return ''
    kept = [line.strip() for line in text.splitlines() if line.strip()]
    return one_line(' | '.join(kept[-lines:]), 800)


def parallel(func, items):
    """[func(item)] in order, on JOBS threads; the first failure cancels what has not started."""
    pool = ThreadPoolExecutor(max_workers=JOBS[0])
    try:
        results = list(pool.map(func, items))
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return results


# --- the database -------------------------------------------------------------------------------

def child_env():
    """Our environment without anything a client tool would take as a connection setting or secret."""
    drop = ('MLFLOW_BACKEND_STORE_URI', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'MLFLOW_CRYPTO_KEK_PASSPHRASE')
    return {name: value for name, value in os.environ.items()
            if name not in drop and not name.startswith(('PG', 'MYSQL', 'MARIADB'))}


def query_value(url, name):
    value = url.query.get(name)
    if isinstance(value, (tuple, list)):
        value = value[-1] if value else None
    return value


class Database:
    """The backend store of MLFLOW_BACKEND_STORE_URI, through SQLAlchemy and the engine's client tools."""

    def __init__(self):
        from sqlalchemy.engine import make_url
        uri = os.environ.get('MLFLOW_BACKEND_STORE_URI')
        if not uri:
            raise Failure('MLFLOW_BACKEND_STORE_URI is not set (run with the MLflow environment file)')
        try:
            self.url = make_url(uri)
        except Exception:  # the message would quote the URI, password included
            raise Failure('MLFLOW_BACKEND_STORE_URI is not a valid SQLAlchemy URL') from None
        add_secret(self.url.password if isinstance(self.url.password, str) else None)
        backend = self.url.get_backend_name()
        if backend == 'postgresql':
            self.engine = 'postgresql'
        elif backend in ('mysql', 'mariadb'):
            self.engine = 'mysql'
        else:
            raise Failure('unsupported backend store %s (PostgreSQL or MariaDB/MySQL only)' % self.shown())
        if not self.url.database:
            raise Failure('the backend store URI %s names no database' % self.shown())
        if self.url.database.startswith('-'):
            raise Failure('database name %r is not supported' % self.url.database)
        self.file = DB_FILES[self.engine]
        self._sa_engine = None

    def shown(self):
        return self.url.render_as_string(hide_password=True)

    # SQLAlchemy, for the few queries of our own
    def sa(self):
        if self._sa_engine is None:
            import sqlalchemy
            from sqlalchemy.pool import NullPool
            self._sa_engine = sqlalchemy.create_engine(self.url, poolclass=NullPool)
        return self._sa_engine

    def rows(self, sql, **params):
        import sqlalchemy
        try:
            with self.sa().connect() as conn:
                return [tuple(row) for row in conn.execute(sqlalchemy.text(sql), params)]
        except sqlalchemy.exc.SQLAlchemyError as exc:
            reason = one_line(getattr(exc, 'orig', None) or exc, 600)
            raise Failure('database %s: %s' % (self.shown(), reason)) from None

    def schema_revision(self):
        try:
            versions = sorted(row[0] for row in self.rows('SELECT version_num FROM alembic_version'))
        except Failure as exc:
            raise Failure('cannot read the schema revision (alembic_version) of %s: %s' % (self.shown(), exc)) from None
        if not versions:
            raise Failure('the alembic_version table of %s is empty' % self.shown())
        return ','.join(versions)

    def relations(self):
        """[(kind, schema, name)] of the database's tables, views and sequences."""
        if self.engine == 'postgresql':
            return self.rows(
                "SELECT CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'view' WHEN 'S' THEN 'sequence' "
                "ELSE 'table' END, n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S') "
                "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
                "AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%' "
                "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass "
                "AND d.objid = c.oid AND d.deptype = 'e')")
        return self.rows(
            "SELECT CASE table_type WHEN 'VIEW' THEN 'view' WHEN 'SEQUENCE' THEN 'sequence' ELSE 'table' END, "
            "table_schema, table_name FROM information_schema.tables WHERE table_schema = DATABASE()")

    def table_count(self):
        return sum(1 for kind, _schema, _name in self.relations() if kind == 'table')

    # client tools
    def tools(self, *names):
        return [which(name) for name in names]

    def _pg_env(self, tmp):
        password = self.url.password or ''
        if '\n' in password or '\r' in password:
            raise Failure('a database password with a line break cannot be handed to the PostgreSQL tools')
        env = child_env()
        escaped = password.replace('\\', '\\\\').replace(':', '\\:')
        env['PGPASSFILE'] = write_private(tmp, 'pgpass', '*:*:*:*:%s\n' % escaped)
        host = self.url.host or query_value(self.url, 'host')
        if host:
            env['PGHOST'] = host
        if self.url.port:
            env['PGPORT'] = str(self.url.port)
        if self.url.username:
            env['PGUSER'] = self.url.username
        env['PGDATABASE'] = self.url.database
        for param, variable in (('sslmode', 'PGSSLMODE'), ('sslrootcert', 'PGSSLROOTCERT'), ('sslcert', 'PGSSLCERT'),
                                ('sslkey', 'PGSSLKEY'), ('sslcrl', 'PGSSLCRL')):
            value = query_value(self.url, param)
            if value:
                env[variable] = value
        env.setdefault('PGCONNECT_TIMEOUT', '30')
        env['PGAPPNAME'] = PROG
        return env

    def _pg_dbname(self):
        name = self.url.database.replace('\\', '\\\\').replace("'", "\\'")
        return "--dbname=dbname='%s'" % name

    def mysql_defaults(self):
        """The [client] option file of the mariadb tools (holds the password)."""

        def quoted(value):
            value = (value.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n')
                     .replace('\r', '\\r').replace('\t', '\\t'))
            return '"%s"' % value

        lines = ['[client]']
        if self.url.username:
            lines.append('user=%s' % quoted(self.url.username))
        lines.append('password=%s' % quoted(self.url.password or ''))
        socket_path = query_value(self.url, 'unix_socket')
        if socket_path:
            lines.append('socket=%s' % quoted(socket_path))
        else:
            lines.append('host=%s' % quoted(self.url.host or 'localhost'))
            lines.append('port=%d' % (self.url.port or 3306))
            lines.append('protocol=TCP')
        charset = query_value(self.url, 'charset')
        if charset:
            lines.append('default-character-set=%s' % quoted(charset))
        ssl_ca = query_value(self.url, 'ssl_ca')
        if ssl_ca:
            lines.append('ssl-ca=%s' % quoted(ssl_ca))
            for param, option in (('ssl_cert', 'ssl-cert'), ('ssl_key', 'ssl-key')):
                value = query_value(self.url, param)
                if value:
                    lines.append('%s=%s' % (option, quoted(value)))
            lines.append('ssl-verify-server-cert')
        elif not socket_path:
            lines.append('skip-ssl')  # as PyMySQL does without ssl_ca
        return '\n'.join(lines) + '\n'

    def dump(self, path):
        with private_dir() as tmp:
            errors = os.path.join(tmp, 'stderr')
            if self.engine == 'postgresql':
                (pg_dump,) = self.tools('pg_dump')
                with open(errors, 'wb') as err:
                    proc = subprocess.run(
                        [pg_dump, '--format=custom', '--no-password', '--file=%s' % path, self._pg_dbname()],
                        env=self._pg_env(tmp), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                        check=False)
                if proc.returncode != 0:
                    raise Failure('pg_dump of %s failed (exit %d): %s'
                                  % (self.shown(), proc.returncode, stderr_tail(errors)))
                return
            (mariadb_dump,) = self.tools('mariadb-dump')
            defaults = write_private(tmp, 'client.cnf', self.mysql_defaults())
            argv = [mariadb_dump, '--defaults-extra-file=%s' % defaults, '--single-transaction', '--routines',
                    '--triggers', '--no-tablespaces', '--hex-blob', self.url.database]
            with open(errors, 'wb') as err:
                proc = subprocess.Popen(argv, env=child_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=err)
                try:
                    with open_new(path) as raw, gzip.GzipFile(fileobj=raw, mode='wb', compresslevel=6) as out:
                        while True:
                            chunk = proc.stdout.read(CHUNK)
                            if not chunk:
                                break
                            out.write(chunk)
                finally:
                    proc.stdout.close()
                    proc.wait()
            if proc.returncode != 0:
                raise Failure('mariadb-dump of %s failed (exit %d): %s'
                              % (self.shown(), proc.returncode, stderr_tail(errors)))

    def restore(self, path):
        """Drop every table, view and sequence, then load the dump."""
        with private_dir() as tmp:
            if self.engine == 'postgresql':
                self._restore_postgresql(path, tmp)
            else:
                self._restore_mysql(path, tmp)

    def _feed(self, consumer, prelude, chunks, epilogue_ok, epilogue_failed, source=None):
        """Write prelude, the chunks and an epilogue to consumer's stdin; False when it stopped reading."""
        try:
            consumer.stdin.write(prelude.encode('utf-8'))
            for chunk in chunks:
                consumer.stdin.write(chunk)
            ok = source is None or source.wait() == 0
            consumer.stdin.write((epilogue_ok if ok else epilogue_failed).encode('utf-8'))
            consumer.stdin.close()
        except BrokenPipeError:
            return False
        return True

    def _restore_postgresql(self, path, tmp):
        pg_restore, psql = self.tools('pg_restore', 'psql')
        env = self._pg_env(tmp)
        env['PGOPTIONS'] = '-c lock_timeout=60000 -c client_min_messages=warning'
        # Everything the database holds goes first, in the same transaction as the restore script.
        prelude = r"""BEGIN;
DO $mlflow_backup$
DECLARE r record;
BEGIN
  FOR r IN SELECT n.nspname AS s, c.relname AS t, c.relkind AS k
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S')
             AND n.nspname NOT IN ('pg_catalog', 'information_schema')
             AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%'
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                             AND d.objid = c.oid AND d.deptype = 'e')
           ORDER BY CASE c.relkind WHEN 'v' THEN 0 WHEN 'm' THEN 0 WHEN 'S' THEN 2 ELSE 1 END
  LOOP
    EXECUTE format('DROP %s IF EXISTS %I.%I CASCADE',
                   CASE r.k WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
                            WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, r.s, r.t);
  END LOOP;
END
$mlflow_backup$;
"""
        restore_err = os.path.join(tmp, 'pg_restore.stderr')
        psql_err = os.path.join(tmp, 'psql.stderr')
        with open(restore_err, 'wb') as err_r, open(psql_err, 'wb') as err_p:
            source = subprocess.Popen(
                [pg_restore, '--clean', '--if-exists', '--no-owner', '--no-privileges', '--exit-on-error', '--file=-',
                 path],
                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err_r)
            consumer = subprocess.Popen(
                [psql, '--no-psqlrc', '--quiet', '--no-password', '--set=ON_ERROR_STOP=1', self._pg_dbname()],
                env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err_p)
            try:
                chunks = iter(lambda: source.stdout.read(CHUNK), b'')
                self._feed(consumer, prelude, chunks, '\nCOMMIT;\n', '\nROLLBACK;\n', source)
            finally:
                source.stdout.close()
                if source.poll() is None:
                    source.kill()
                source.wait()
                with contextlib.suppress(BrokenPipeError):
                    consumer.stdin.close()
                consumer.wait()
        if consumer.returncode != 0:
            raise Failure('psql failed restoring into %s (exit %d), the database was not changed: %s'
                          % (self.shown(), consumer.returncode, stderr_tail(psql_err)))
        if source.returncode != 0:
            raise Failure('pg_restore failed (exit %d), the database was not changed: %s'
                          % (source.returncode, stderr_tail(restore_err)))

    def _restore_mysql(self, path, tmp):
        (mariadb,) = self.tools('mariadb')
        defaults = write_private(tmp, 'client.cnf', self.mysql_defaults())

        def ident(name):
            return '`%s`' % name.replace('`', '``')

        statements = ['SET FOREIGN_KEY_CHECKS=0;']
        order = {'view': 0, 'table': 1, 'sequence': 2}
        for kind, _schema, name in sorted(self.relations(), key=lambda rel: (order[rel[0]], rel[2])):
            statements.append('DROP %s IF EXISTS %s;' % (kind.upper(), ident(name)))
        prelude = '\n'.join(statements) + '\n'
        errors = os.path.join(tmp, 'stderr')
        with open(errors, 'wb') as err, gzip.open(path, 'rb') as dump:
            consumer = subprocess.Popen(
                [mariadb, '--defaults-extra-file=%s' % defaults, '--batch', '--database=%s' % self.url.database],
                env=child_env(), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err)
            try:
                chunks = iter(lambda: dump.read(CHUNK), b'')
                self._feed(consumer, prelude, chunks, '\nSET FOREIGN_KEY_CHECKS=1;\n', '')
            finally:
                with contextlib.suppress(BrokenPipeError):
                    consumer.stdin.close()
                consumer.wait()
        if consumer.returncode != 0:
            raise Failure('mariadb failed loading the dump into %s (exit %d; the database may be partly restored, '
                          'run the restore again): %s' % (self.shown(), consumer.returncode, stderr_tail(errors)))


# --- the bucket ---------------------------------------------------------------------------------

class Bucket:
    """The objects under s3://BUCKET/PREFIX/."""

    def __init__(self, destination):
        import boto3
        import botocore.config
        self.destination = destination
        self.bucket, self.prefix = parse_destination(destination)
        add_secret(os.environ.get('AWS_SECRET_ACCESS_KEY'))
        verify = None
        if os.environ.get('AWS_CA_BUNDLE'):
            verify = os.environ['AWS_CA_BUNDLE']
        if os.environ.get('MLFLOW_S3_IGNORE_TLS', '').lower() == 'true':
            verify = False
        config = botocore.config.Config(s3={'addressing_style': 'path'}, signature_version='s3v4',
                                        retries={'max_attempts': 5, 'mode': 'standard'},
                                        max_pool_connections=16)
        self.s3 = boto3.client('s3', endpoint_url=os.environ.get('MLFLOW_S3_ENDPOINT_URL') or None, verify=verify,
                               region_name=os.environ.get('AWS_DEFAULT_REGION') or os.environ.get('AWS_REGION')
                               or 'us-east-1', config=config)

    def key(self, rel):
        return '%s/%s' % (self.prefix, rel) if self.prefix else rel

    def check(self):
        import botocore.exceptions
        # A listing of the prefix, not HeadBucket: MLflow's MinIO user may list its prefix only.
        try:
            self.s3.list_objects_v2(Bucket=self.bucket, Prefix='%s/' % self.prefix if self.prefix else '', MaxKeys=1)
        except botocore.exceptions.ClientError as exc:
            raise Failure('bucket %s at %s: %s' % (self.bucket, os.environ.get('MLFLOW_S3_ENDPOINT_URL'),
                                                   one_line(exc))) from None

    def listing(self, strict=True):
        """({relative key: {'bytes', 'etag'}}, folder markers skipped).

        strict (create): an empty object whose key ends with '/' (a "folder" some S3 clients make)
        is skipped and counted; any other key that cannot be a file path fails. Not strict
        (restore): every key is listed, so that what the backup lacks is deleted.
        """
        start = '%s/' % self.prefix if self.prefix else ''
        objects = {}
        markers = 0
        paginator = self.s3.get_paginator('list_objects_v2')
        for page in paginator.paginate(Bucket=self.bucket, Prefix=start):
            for item in page.get('Contents', []):
                rel = item['Key'][len(start):]
                if strict and key_parts(rel) is None:
                    if rel.endswith('/') and int(item['Size']) == 0:
                        markers += 1
                        continue
                    raise Failure('object key %r under %s cannot be stored as a file (empty, "." or ".." '
                                  'path component)' % (item['Key'], self.destination))
                objects[rel] = {'bytes': int(item['Size']), 'etag': item['ETag'].strip('"')}
        return objects, markers

    def download(self, rel, path):
        """Stream an object into a new file; (bytes, sha256, etag), or None when the object is gone."""
        import botocore.exceptions
        try:
            response = self.s3.get_object(Bucket=self.bucket, Key=self.key(rel))
        except botocore.exceptions.ClientError as exc:
            if exc.response.get('Error', {}).get('Code') in ('NoSuchKey', '404'):
                return None
            raise
        body = response['Body']
        sha = hashlib.sha256()
        size = 0
        make_dirs(os.path.dirname(path))
        with open_new(path) as out:
            while True:
                chunk = body.read(CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                sha.update(chunk)
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size != int(response['ContentLength']):
            raise Failure('object %s: read %d bytes, the server announced %d' % (self.key(rel), size,
                                                                                 response['ContentLength']))
        return size, sha.hexdigest(), response['ETag'].strip('"')

    def upload(self, rel, path):
        import boto3.s3.transfer
        extra = {}
        content_type, _encoding = mimetypes.guess_type(rel)
        if content_type:
            extra['ContentType'] = content_type
        self.s3.upload_file(path, self.bucket, self.key(rel), ExtraArgs=extra,
                            Config=boto3.s3.transfer.TransferConfig(use_threads=False))

    def delete(self, rels):
        rels = sorted(rels)
        for start in range(0, len(rels), 1000):
            batch = [{'Key': self.key(rel)} for rel in rels[start:start + 1000]]
            response = self.s3.delete_objects(Bucket=self.bucket, Delete={'Objects': batch, 'Quiet': True})
            if response.get('Errors'):
                first = response['Errors'][0]
                raise Failure('deleting %d objects failed, e.g. %s: %s' % (len(response['Errors']), first.get('Key'),
                                                                           first.get('Message')))


# --- backups on disk ----------------------------------------------------------------------------

def read_manifest(path):
    with open(os.path.join(path, MANIFEST), 'rb') as handle:
        manifest = json.loads(handle.read().decode('utf-8'))
    if not isinstance(manifest, dict):
        raise ValueError('not a JSON object')
    return manifest


def complete_backups(directory):
    """[(name, manifest)] of DIR's complete backups, newest first; and the names of the others."""
    complete, other = [], []
    try:
        names = sorted(os.listdir(directory), reverse=True)
    except FileNotFoundError:
        return complete, other
    for name in names:
        path = os.path.join(directory, name)
        if name.endswith(PARTIAL_SUFFIX) and STAMP.match(name[:-len(PARTIAL_SUFFIX)]):
            other.append(name)
            continue
        if not STAMP.match(name) or not os.path.isdir(path):
            continue
        try:
            manifest = read_manifest(path)
        except (OSError, ValueError):
            other.append(name)
            continue
        if manifest.get('format') == FORMAT:
            complete.append((name, manifest))
        else:
            other.append(name)
    return complete, other


class _Enough(Exception):
    """MAX_PROBLEMS mismatches found: stop checking."""


def check_backup(path, md5=False):
    """(manifest or None, problems, {key: md5}) of a backup checked against its manifest."""
    try:
        manifest = read_manifest(path)
    except FileNotFoundError:
        return None, ['%s has no %s' % (path, MANIFEST)], {}
    except (OSError, ValueError) as exc:
        return None, ['%s is unreadable: %s' % (MANIFEST, one_line(exc, 200))], {}
    if manifest.get('format') != FORMAT:
        return manifest, ['manifest format is %r, this program reads format %d'
                          % (manifest.get('format'), FORMAT)], {}
    db = manifest.get('db')
    artifacts = manifest.get('artifacts')
    listed = artifacts.get('list') if isinstance(artifacts, dict) else None
    if (not isinstance(db, dict) or db.get('engine') not in DB_FILES or db.get('file') != DB_FILES[db['engine']]
            or not isinstance(db.get('bytes'), int) or not SHA256.match(str(db.get('sha256')))
            or not isinstance(listed, list) or not isinstance(artifacts.get('objects'), int)
            or not isinstance(artifacts.get('bytes'), int)
            or not isinstance(manifest.get('mlflow_version'), str) or not manifest.get('schema_revision')):
        return manifest, ['manifest lacks db {engine, file, bytes, sha256}, artifacts {objects, bytes, list}, '
                          'mlflow_version or schema_revision, or has a wrong value there'], {}
    problems = []
    sums = {}

    def problem(text):
        problems.append(text)
        if len(problems) >= MAX_PROBLEMS:
            raise _Enough()

    with contextlib.suppress(_Enough):
        _check_files(path, db, artifacts, listed, md5, problem, sums)
    return manifest, problems, sums


def _check_files(path, db, artifacts, listed, md5, problem, sums):
    dump = os.path.join(path, db['file'])
    if not os.path.isfile(dump) or os.path.islink(dump):
        problem('%s is missing' % db['file'])
    else:
        size, sha, _md5 = digest(dump)
        if size != db['bytes'] or sha != db['sha256']:
            problem('%s: %d bytes sha256 %s, the manifest says %d bytes sha256 %s'
                    % (db['file'], size, sha, db['bytes'], db['sha256']))
    root = os.path.join(path, ARTIFACTS)
    keys = set()
    total = 0
    for entry in listed:
        if (not isinstance(entry, dict) or not isinstance(entry.get('key'), str) or key_parts(entry['key']) is None
                or not isinstance(entry.get('bytes'), int) or not SHA256.match(str(entry.get('sha256')))):
            problem('malformed artifact entry %s' % one_line(json.dumps(entry), 200))
            continue
        key = entry['key']
        if key in keys:
            problem('artifact %s is listed twice' % key)
            continue
        keys.add(key)
        total += entry['bytes']
        file_path = os.path.join(root, *key_parts(key))
        if not os.path.isfile(file_path) or os.path.islink(file_path):
            problem('artifact %s is missing' % key)
        elif os.path.getsize(file_path) != entry['bytes']:
            problem('artifact %s: %d bytes, the manifest says %d' % (key, os.path.getsize(file_path), entry['bytes']))
        else:
            _size, sha, sums[key] = digest(file_path, md5=md5)
            if sha != entry['sha256']:
                problem('artifact %s: sha256 %s, the manifest says %s' % (key, sha, entry['sha256']))
    for current, dirs, files in os.walk(root):
        linked_dirs = [name for name in dirs if os.path.islink(os.path.join(current, name))]
        for name in sorted(files + linked_dirs):
            rel = os.path.relpath(os.path.join(current, name), root).replace(os.sep, '/')
            if rel not in keys:
                problem('unlisted file artifacts/%s' % rel)
    if artifacts['objects'] != len(listed):
        problem('the manifest counts %d objects, its list has %d' % (artifacts['objects'], len(listed)))
    if artifacts['bytes'] != total:
        problem('the manifest counts %d bytes, its list adds up to %d' % (artifacts['bytes'], total))


def backup_path(value):
    path = os.path.abspath(value)
    if not os.path.isdir(path):
        raise Failure('there is no backup directory %s' % path)
    return path


def refuse_problems(path, problems):
    if problems:
        more = ' (checking stopped there)' if len(problems) >= MAX_PROBLEMS else ''
        raise Refused('backup %s does not match its manifest, %d mismatch(es)%s: %s'
                      % (path, len(problems), more, '; '.join(problems)))


# --- subcommands --------------------------------------------------------------------------------

def cmd_create(args):
    started = time.monotonic()
    take_lock(args.lock_file)
    version = mlflow_version(args.mlflow_version)
    database = Database()
    database.tools('pg_dump' if database.engine == 'postgresql' else 'mariadb-dump')
    bucket = Bucket(args.artifacts_destination)
    bucket.check()
    directory = os.path.abspath(args.dir)
    make_dirs(directory)

    while True:
        now = time.gmtime()
        name = time.strftime('%Y%m%dT%H%M%SZ', now)
        final = os.path.join(directory, name)
        partial = final + PARTIAL_SUFFIX
        if not os.path.lexists(final) and not os.path.lexists(partial):
            break
        time.sleep(1.05 - (time.time() % 1))  # one backup per second: wait for the next stamp
    previous, _other = complete_backups(directory)
    os.mkdir(partial, 0o700)
    try:
        manifest, counts = _create_into(partial, now, version, database, bucket, previous)
        for current, _dirs, _files in os.walk(partial, topdown=False):
            fsync_dir(current)
        os.rename(partial, final)
        fsync_dir(directory)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise

    complete, other = complete_backups(directory)
    keep = [entry for entry in complete if entry[0] == name]
    keep += [entry for entry in complete if entry[0] != name][:args.keep - 1]
    kept = sorted((entry[0] for entry in keep), reverse=True)
    pruned = [entry[0] for entry in complete if entry[0] not in kept]
    stale = [entry for entry in other if entry.endswith(PARTIAL_SUFFIX)]
    for entry in pruned + stale:
        shutil.rmtree(os.path.join(directory, entry))
    return {
        'backup': final,
        'name': name,
        'created': manifest['created'],
        'mlflow_version': version,
        'schema_revision': manifest['schema_revision'],
        'db': {key: manifest['db'][key] for key in ('engine', 'name', 'file', 'bytes', 'sha256')},
        'artifacts': dict(counts, destination=bucket.destination, objects=manifest['artifacts']['objects'],
                          bytes=manifest['artifacts']['bytes']),
        'kept': kept,
        'pruned': pruned,
        'removed_partial': stale,
        'seconds': round(time.monotonic() - started, 3),
    }


def _create_into(partial, now, version, database, bucket, previous):
    # 1. the database (first: see the module docstring)
    revision = database.schema_revision()
    dump = os.path.join(partial, database.file)
    database.dump(dump)
    if database.schema_revision() != revision:
        raise Failure('the schema revision of %s changed during the dump (a migration ran): try again'
                      % database.shown())
    db_bytes, db_sha, _md5 = digest(dump)

    # 2. the bucket: link what the newest complete backup has unchanged, download the rest
    root = os.path.join(partial, ARTIFACTS)
    os.mkdir(root, 0o700)
    objects, markers = bucket.listing()
    base_name, base = (previous[0][0], previous[0][1]) if previous else (None, None)
    base_dir = os.path.join(os.path.dirname(partial), base_name) if base_name else None
    old = {}
    if base:
        for entry in base.get('artifacts', {}).get('list', []):
            if isinstance(entry, dict) and isinstance(entry.get('key'), str):
                old[entry['key']] = entry
    entries = {}
    to_fetch = []
    linked_bytes = 0
    for rel in sorted(objects):
        listed = objects[rel]
        target = os.path.join(root, *key_parts(rel))
        prior = old.get(rel)
        if prior and prior.get('bytes') == listed['bytes'] and prior.get('etag') == listed['etag'] \
                and SHA256.match(str(prior.get('sha256'))):
            source = os.path.join(base_dir, ARTIFACTS, *key_parts(rel))
            try:
                if os.path.getsize(source) == listed['bytes'] and not os.path.islink(source):
                    make_dirs(os.path.dirname(target))
                    os.link(source, target)
                    entries[rel] = {'key': rel, 'bytes': listed['bytes'], 'sha256': prior['sha256'],
                                    'etag': listed['etag']}
                    linked_bytes += listed['bytes']
                    continue
            except OSError:
                pass  # not there any more, or another file system: download it
        to_fetch.append(rel)

    def fetch(rel):
        return rel, bucket.download(rel, os.path.join(root, *key_parts(rel)))

    vanished = 0
    downloaded_bytes = 0
    for rel, result in parallel(fetch, to_fetch):
        if result is None:
            vanished += 1
            continue
        size, sha, etag = result
        entries[rel] = {'key': rel, 'bytes': size, 'sha256': sha, 'etag': etag}
        downloaded_bytes += size
    listing = [entries[rel] for rel in sorted(entries)]
    manifest = {
        'format': FORMAT,
        'created': time.strftime('%Y-%m-%dT%H:%M:%SZ', now),
        'host': socket.gethostname(),
        'mlflow_version': version,
        'schema_revision': revision,
        'db': {'engine': database.engine, 'name': database.url.database, 'file': database.file,
               'bytes': db_bytes, 'sha256': db_sha},
        'artifacts': {'destination': bucket.destination, 'objects': len(listing),
                      'bytes': sum(entry['bytes'] for entry in listing), 'list': listing},
    }
    with open_new(os.path.join(partial, MANIFEST)) as handle:
        handle.write((json.dumps(manifest, indent=1, sort_keys=True) + '\n').encode('utf-8'))
        handle.flush()
        os.fsync(handle.fileno())
    counts = {'downloaded': len(to_fetch) - vanished, 'downloaded_bytes': downloaded_bytes,
              'linked': len(listing) - (len(to_fetch) - vanished), 'linked_bytes': linked_bytes,
              'linked_from': base_name, 'vanished': vanished, 'skipped_folder_markers': markers}
    return manifest, counts


def cmd_verify(args):
    started = time.monotonic()
    path = backup_path(args.backup)
    manifest, problems, _sums = check_backup(path)
    refuse_problems(path, problems)
    return {
        'backup': path,
        'ok': True,
        'created': manifest.get('created'),
        'mlflow_version': manifest['mlflow_version'],
        'schema_revision': manifest['schema_revision'],
        'db': {key: manifest['db'].get(key) for key in ('engine', 'name', 'file', 'bytes', 'sha256')},
        'objects': manifest['artifacts']['objects'],
        'bytes': manifest['artifacts']['bytes'],
        'seconds': round(time.monotonic() - started, 3),
    }


def cmd_restore(args):
    from packaging.version import InvalidVersion, Version
    started = time.monotonic()
    take_lock(args.lock_file)
    installed = mlflow_version(args.mlflow_version)
    database = Database()
    path = backup_path(args.backup)

    # every check before the first change
    manifest, problems, md5s = check_backup(path, md5=True)
    refuse_problems(path, problems)
    if manifest['db']['engine'] != database.engine:
        raise Refused('backup %s holds a %s database, MLFLOW_BACKEND_STORE_URI is %s'
                      % (path, manifest['db']['engine'], database.shown()))
    try:
        newer = Version(manifest['mlflow_version']) > Version(installed)
    except InvalidVersion as exc:
        raise Refused('cannot compare MLflow versions: %s' % exc) from None
    if newer:
        raise Refused('backup %s was made by MLflow %s, newer than the installed %s: upgrade MLflow first'
                      % (path, manifest['mlflow_version'], installed))
    database.tools(*(('pg_restore', 'psql') if database.engine == 'postgresql' else ('mariadb',)))
    bucket = Bucket(args.artifacts_destination)
    bucket.check()
    database.rows('SELECT 1')

    # what the bucket needs (MLflow is stopped: nothing else writes there now)
    wanted = {entry['key']: entry for entry in manifest['artifacts']['list']}
    present, _markers = bucket.listing(strict=False)
    unchanged, upload = [], []
    for key in sorted(wanted):
        have = present.get(key)
        entry = wanted[key]
        # A single-part ETag is the content's MD5; a multipart one still equal to the recorded one
        # means the object was not written again since the backup.
        same = bool(have) and have['bytes'] == entry['bytes'] and have['etag'] == (
            md5s.get(key) if '-' not in have['etag'] else entry.get('etag'))
        (unchanged if same else upload).append(key)
    extra = sorted(set(present) - set(wanted))

    # the database, then the bucket
    database.restore(os.path.join(path, manifest['db']['file']))
    tables = database.table_count()
    revision = database.schema_revision()

    def put(key):
        bucket.upload(key, os.path.join(path, ARTIFACTS, *key_parts(key)))

    parallel(put, upload)
    bucket.delete(extra)
    return {
        'backup': path,
        'tables': tables,
        'uploaded': len(upload),
        'uploaded_bytes': sum(wanted[key]['bytes'] for key in upload),
        'deleted': len(extra),
        'unchanged': len(unchanged),
        'schema_revision': revision,
        'mlflow_version': manifest['mlflow_version'],
        'installed_mlflow_version': installed,
        'seconds': round(time.monotonic() - started, 3),
    }


def cmd_list(args):
    directory = os.path.abspath(args.dir)
    complete, other = complete_backups(directory)
    backups = []
    for name, manifest in complete:
        db = manifest.get('db') if isinstance(manifest.get('db'), dict) else {}
        artifacts = manifest.get('artifacts') if isinstance(manifest.get('artifacts'), dict) else {}
        artifact_bytes = artifacts.get('bytes') or 0
        backups.append({
            'name': name,
            'path': os.path.join(directory, name),
            'created': manifest.get('created'),
            'mlflow_version': manifest.get('mlflow_version'),
            'schema_revision': manifest.get('schema_revision'),
            'db_engine': db.get('engine'),
            'db_bytes': db.get('bytes'),
            'objects': artifacts.get('objects'),
            'artifact_bytes': artifact_bytes,
            'bytes': (db.get('bytes') or 0) + artifact_bytes,
        })
    return {'dir': directory, 'backups': backups, 'incomplete': other}


def build_parser():
    parser = ArgumentParser(prog=PROG, description='Backup and restore of an MLflow server\'s database and '
                            'artifact bucket prefix (exit 2: refused, the backup does not match; 1: other failure).')
    commands = parser.add_subparsers(dest='command', metavar='COMMAND')
    commands.required = True

    def common(sub):
        sub.add_argument('--artifacts-destination', required=True, metavar='s3://BUCKET/PREFIX',
                         help="MLflow's --artifacts-destination")
        sub.add_argument('--lock-file', default=DEFAULT_LOCK, help='flock held for the whole run (default %(default)s)')
        sub.add_argument('--mlflow-version', help='the installed MLflow version, only where the mlflow '
                         'distribution is not installed in this Python')
        sub.add_argument('--jobs', type=positive_int, default=4, help='parallel transfers (default %(default)s)')

    create = commands.add_parser('create', help='write a new backup into DIR, prune old ones')
    create.add_argument('--dir', required=True, help='directory holding the backups')
    create.add_argument('--keep', required=True, type=positive_int, help='complete backups to keep, this one included')
    common(create)
    create.set_defaults(func=cmd_create)

    verify = commands.add_parser('verify', help='check a backup against its manifest')
    verify.add_argument('--backup', required=True, help='the backup directory')
    verify.set_defaults(func=cmd_verify)

    restore = commands.add_parser('restore', help='verify a backup, then make the database and bucket prefix equal it')
    restore.add_argument('--backup', required=True, help='the backup directory')
    common(restore)
    restore.set_defaults(func=cmd_restore)

    listing = commands.add_parser('list', help='the complete backups of DIR, newest first')
    listing.add_argument('--dir', required=True, help='directory holding the backups')
    listing.set_defaults(func=cmd_list)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    os.umask(0o077)
    if getattr(args, 'jobs', None):
        JOBS[0] = args.jobs
    add_secret(os.environ.get('AWS_SECRET_ACCESS_KEY'))
    try:
        from sqlalchemy.engine import make_url
        add_secret(make_url(os.environ['MLFLOW_BACKEND_STORE_URI']).password)
    except Exception:  # pylint: disable=broad-except  # only to know the password; Database() reports errors
        pass
    try:
        result = args.func(args)
    except Refused as exc:
        sys.stderr.write('%s: refused: %s\n' % (PROG, one_line(exc, 6000)))
        return 2
    except Failure as exc:
        sys.stderr.write('%s: error: %s\n' % (PROG, one_line(exc, 3000)))
        return 1
    except KeyboardInterrupt:
        sys.stderr.write('%s: error: interrupted\n' % PROG)
        return 1
    except Exception as exc:  # pylint: disable=broad-except  # one line, secrets hidden, never a traceback
        sys.stderr.write('%s: error: %s: %s\n' % (PROG, type(exc).__name__, one_line(exc, 3000)))
        return 1
    sys.stdout.write(json.dumps(result, sort_keys=True) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
