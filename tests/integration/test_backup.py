# -*- coding: utf-8 -*-
"""roles/mlflow/files/mlflow_backup.py against a real PostgreSQL or MariaDB and a real MinIO.

The program runs as a subprocess with this venv's Python, as it runs on a server with the MLflow
venv's: MLFLOW_BACKEND_STORE_URI and the S3 settings in its environment, the real client tools
(pg_dump, pg_restore, psql / mariadb-dump, mariadb). The tools are reached through pass-through
wrappers that record each command line, the environment and the mode of the password file
before they exec the real binary, so the tests can show that the password is on none of them.
The database user's password holds the characters that need escaping in a URL, a pgpass file
and a MySQL option file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import hashlib
import importlib.util
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import uuid
from urllib.parse import quote

import boto3
import boto3.s3.transfer
import botocore.config
import psycopg2
import psycopg2.sql
import pymysql
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, 'roles', 'mlflow', 'files', 'mlflow_backup.py')
TOOLS = ('pg_dump', 'pg_restore', 'psql', 'mariadb-dump', 'mariadb')
MLFLOW_VERSION = '3.17.2'
REVISION = '1b5f0d9ad7c1'
PREFIX = 'mlflow/artifacts'
MIB = 1024 * 1024
# Objects under the prefix at the start; one is above boto3's 8 MiB multipart threshold.
OBJECTS = {
    '1/0a1b/artifacts/model/MLmodel': b'artifact_path: model\nflavors: {}\n',
    '1/0a1b/artifacts/model/model.pkl': os.urandom(9 * MIB),
    '1/0a1b/artifacts/metrics.json': b'{"accuracy": 0.91}',
    '2/77ff/artifacts/empty.txt': b'',
    '2/77ff/artifacts/with space/\u00e9t\u00e9.txt': 'd\u00e9j\u00e0 vu\n'.encode('utf-8'),
}
# Keys of the same bucket outside the prefix: never copied, never deleted.
OUTSIDE = {'other/keep.txt': b'not mine', 'mlflow/artifactsX/sibling.txt': b'a sibling prefix'}


def sha256(data):
    return hashlib.sha256(data).hexdigest()


class Stack:
    """One database (with its own owner) and one bucket for one test, and the program's environment."""

    def __init__(self, engine, services, tmp_path):
        self.engine = engine
        self.services = services
        self.tmp = tmp_path
        tag = uuid.uuid4().hex[:8]
        self.db = 'bk_%s' % tag
        self.user = 'bk_%s' % tag
        # URL, pgpass and option-file syntax all in one password
        self.password = 'P:w@/%%#"\'\\ ;=&?+%s' % tag
        self.bucket = 'bk-%s' % tag
        self.backups = str(tmp_path / 'backups')
        self.lock = str(tmp_path / 'maintenance.lock')
        self.shim_log = str(tmp_path / 'tools.log')
        self.destination = 's3://%s/%s' % (self.bucket, PREFIX)
        self.s3 = boto3.client('s3', endpoint_url=services['S3_ENDPOINT'], aws_access_key_id=services['S3_ACCESS_KEY'],
                               aws_secret_access_key=services['S3_SECRET_KEY'], region_name='us-east-1',
                               config=botocore.config.Config(s3={'addressing_style': 'path'}))
        self.outputs = []
        self._create_database()
        self._create_bucket()
        self._make_shims()

    # --- database -----------------------------------------------------------------------
    def _admin(self):
        """A superuser connection of the engine under test (autocommit)."""
        s = self.services
        if self.engine == 'postgresql':
            admin = psycopg2.connect(host=s['PG_HOST'], port=int(s['PG_PORT']), user=s['PG_USER'],
                                     password=s['PG_PASSWORD'], dbname='postgres')
            admin.autocommit = True
            return admin
        return pymysql.connect(host=s['MYSQL_HOST'], port=int(s['MYSQL_PORT']), user=s['MYSQL_USER'],
                               password=s['MYSQL_PASSWORD'], autocommit=True)

    def _create_database(self):
        s = self.services
        encoded = quote(self.password, safe='')
        if self.engine == 'postgresql':
            admin = self._admin()
            with admin.cursor() as cur:
                cur.execute(psycopg2.sql.SQL('CREATE ROLE {} LOGIN PASSWORD {}').format(
                    psycopg2.sql.Identifier(self.user), psycopg2.sql.Literal(self.password)))
                cur.execute(psycopg2.sql.SQL('CREATE DATABASE {} OWNER {}').format(
                    psycopg2.sql.Identifier(self.db), psycopg2.sql.Identifier(self.user)))
            admin.close()
            self.uri = 'postgresql+psycopg2://%s:%s@%s:%s/%s?sslmode=disable' % (
                self.user, encoded, s['PG_HOST'], s['PG_PORT'], self.db)
        else:
            admin = self._admin()
            with admin.cursor() as cur:
                cur.execute('CREATE DATABASE `%s` CHARACTER SET utf8mb4' % self.db)
                for host in ('127.0.0.1', 'localhost'):
                    cur.execute("CREATE USER '%s'@'%s' IDENTIFIED BY %%s" % (self.user, host), (self.password,))
                    cur.execute("GRANT ALL PRIVILEGES ON `%s`.* TO '%s'@'%s'" % (self.db, self.user, host))
            admin.close()
            self.uri = 'mysql+pymysql://%s:%s@%s:%s/%s?charset=utf8mb4' % (
                self.user, encoded, s['MYSQL_HOST'], s['MYSQL_PORT'], self.db)
        blob = 'bytea' if self.engine == 'postgresql' else 'longblob'
        real = 'double precision' if self.engine == 'postgresql' else 'double'
        suffix = '' if self.engine == 'postgresql' else ' ENGINE=InnoDB'
        self.sql('CREATE TABLE alembic_version (version_num varchar(32) NOT NULL PRIMARY KEY)%s' % suffix)
        self.sql('INSERT INTO alembic_version VALUES (%s)', (REVISION,))
        self.sql('CREATE TABLE experiments (id int NOT NULL PRIMARY KEY, name varchar(100) NOT NULL, data %s)%s'
                 % (blob, suffix))
        self.sql('CREATE TABLE runs (id int NOT NULL PRIMARY KEY, experiment_id int NOT NULL, metric %s, '
                 'FOREIGN KEY (experiment_id) REFERENCES experiments (id))%s' % (real, suffix))
        self.sql('CREATE VIEW run_counts AS SELECT experiment_id, COUNT(*) AS n FROM runs GROUP BY experiment_id')
        for number in range(1, 4):
            self.sql('INSERT INTO experiments VALUES (%s, %s, %s)',
                     (number, 'exp-%d \u00e9' % number, bytes(range(number * 7 % 256, 256))))
        for number in range(1, 31):
            self.sql('INSERT INTO runs VALUES (%s, %s, %s)', (number, number % 3 + 1, number / 7.0))

    def connect(self):
        s = self.services
        if self.engine == 'postgresql':
            conn = psycopg2.connect(host=s['PG_HOST'], port=int(s['PG_PORT']), user=self.user,
                                    password=self.password, dbname=self.db)
            conn.autocommit = True
            return conn
        return pymysql.connect(host=s['MYSQL_HOST'], port=int(s['MYSQL_PORT']), user=self.user,
                               password=self.password, database=self.db, charset='utf8mb4', autocommit=True)

    def sql(self, statement, params=None, fetch=False):
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(statement, params)
                return cur.fetchall() if fetch else None
        finally:
            conn.close()

    def db_state(self):
        """{table or view name: sorted rows} of the whole database."""
        schema = "'public'" if self.engine == 'postgresql' else 'DATABASE()'
        names = [row[0] for row in self.sql(
            'SELECT table_name FROM information_schema.tables WHERE table_schema = %s' % schema, fetch=True)]
        state = {}
        for name in sorted(names):
            rows = self.sql('SELECT * FROM %s' % name, fetch=True)
            state[name] = sorted(tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in rows)
        return state

    # --- bucket -------------------------------------------------------------------------
    def _create_bucket(self):
        self.s3.create_bucket(Bucket=self.bucket)
        for rel, data in OBJECTS.items():
            self.put(rel, data)
        for key, data in OUTSIDE.items():
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=data)
        big = self.s3.head_object(Bucket=self.bucket, Key='%s/1/0a1b/artifacts/model/model.pkl' % PREFIX)
        assert '-' in big['ETag'], 'the 9 MiB object should be a multipart upload: %s' % big['ETag']

    def put(self, rel, data):
        self.s3.upload_fileobj(io.BytesIO(data), self.bucket, '%s/%s' % (PREFIX, rel),
                               Config=boto3.s3.transfer.TransferConfig(multipart_threshold=8 * MIB,
                                                                       multipart_chunksize=8 * MIB))

    def bucket_state(self, prefix=PREFIX + '/'):
        """{key relative to prefix: sha256} of every object under prefix (the whole bucket with '')."""
        state = {}
        for page in self.s3.get_paginator('list_objects_v2').paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get('Contents', []):
                body = self.s3.get_object(Bucket=self.bucket, Key=item['Key'])['Body'].read()
                state[item['Key'][len(prefix):]] = sha256(body)
        return state

    def state(self):
        return self.db_state(), self.bucket_state('')

    # --- the program --------------------------------------------------------------------
    def _make_shims(self):
        """Pass-through wrappers of the client tools recording argv, environment and password file mode."""
        self.shims = str(self.tmp / 'shims')
        os.mkdir(self.shims)
        for tool in TOOLS:
            real = shutil.which(tool)
            assert real, '%s is not installed' % tool
            script = '''#!/bin/sh
{
  printf 'tool: %%s\\n' "$0"
  for arg in "$@"; do
    printf 'arg: %%s\\n' "$arg"
    case "$arg" in
      --defaults-extra-file=*) f="${arg#*=}"; printf 'secretfile: %%s %%s\\n' "$f" "$(stat -c %%a "$f")" ;;
    esac
  done
  if [ -n "$PGPASSFILE" ]; then printf 'secretfile: %%s %%s\\n' "$PGPASSFILE" "$(stat -c %%a "$PGPASSFILE")"; fi
  env | sed 's/^/env: /'
} >>'%s'
exec '%s' "$@"
''' % (self.shim_log, real)
            path = os.path.join(self.shims, tool)
            with open(path, 'w') as handle:
                handle.write(script)
            os.chmod(path, 0o755)

    def env(self):
        env = {name: os.environ[name] for name in ('HOME', 'LANG', 'LC_ALL', 'TMPDIR') if name in os.environ}
        env.update(PATH='%s:%s' % (self.shims, os.environ.get('PATH', '/usr/bin:/bin')),
                   MLFLOW_BACKEND_STORE_URI=self.uri,
                   MLFLOW_S3_ENDPOINT_URL=self.services['S3_ENDPOINT'],
                   AWS_ACCESS_KEY_ID=self.services['S3_ACCESS_KEY'],
                   AWS_SECRET_ACCESS_KEY=self.services['S3_SECRET_KEY'],
                   PYTHONDONTWRITEBYTECODE='1')
        return env

    def run(self, *args, env=None, version=True, rc=0):
        argv = [sys.executable, SCRIPT] + list(args)
        if version and args[0] in ('create', 'restore'):
            argv += ['--mlflow-version', MLFLOW_VERSION]
        if args[0] in ('create', 'restore'):
            argv += ['--lock-file', self.lock]
        proc = subprocess.run(argv, env=env or self.env(), capture_output=True, text=True, timeout=120, check=False)
        self.outputs.append(proc.stdout + proc.stderr)
        for secret in (self.password, quote(self.password, safe=''), self.services['S3_SECRET_KEY']):
            assert secret not in proc.stdout + proc.stderr, 'a secret in the output of %s' % (args,)
        assert proc.returncode == rc, 'rc %d, expected %d\nstdout: %s\nstderr: %s' % (
            proc.returncode, rc, proc.stdout, proc.stderr)
        if rc == 0:
            assert proc.stderr == '', proc.stderr
            lines = proc.stdout.splitlines()
            assert len(lines) == 1, proc.stdout
            return json.loads(lines[0])
        assert proc.stdout == ''
        assert len(proc.stderr.splitlines()) == 1, proc.stderr
        return proc.stderr

    def create(self, keep=5):
        return self.run('create', '--dir', self.backups, '--artifacts-destination', self.destination,
                        '--keep', str(keep))

    def restore(self, backup, rc=0, **kwargs):
        return self.run('restore', '--backup', backup, '--artifacts-destination', self.destination, rc=rc, **kwargs)

    def check_secrets_kept(self):
        """The password never in a tool's argv or environment; its files 0600 and removed afterwards."""
        with open(self.shim_log, encoding='utf-8', errors='replace') as handle:
            log = handle.read()
        tools = re.findall(r'^tool: .*/([\w-]+)$', log, re.M)
        assert tools, 'no client tool ran'
        for secret in (self.password, quote(self.password, safe='')):
            assert secret not in log
        files = re.findall(r'^secretfile: (\S+) (\d+)$', log, re.M)
        assert files, 'the tools were given no password file'
        for path, mode in files:
            assert mode == '600', (path, mode)
            assert not os.path.exists(path), '%s was not removed' % path
        return tools

    def cleanup(self):
        if self.engine == 'postgresql':
            admin = self._admin()
            with admin.cursor() as cur:
                cur.execute(psycopg2.sql.SQL('DROP DATABASE IF EXISTS {} WITH (FORCE)').format(
                    psycopg2.sql.Identifier(self.db)))
                cur.execute(psycopg2.sql.SQL('DROP ROLE IF EXISTS {}').format(psycopg2.sql.Identifier(self.user)))
        else:
            admin = self._admin()
            with admin.cursor() as cur:
                cur.execute('DROP DATABASE IF EXISTS `%s`' % self.db)
                for host in ('127.0.0.1', 'localhost'):
                    cur.execute("DROP USER IF EXISTS '%s'@'%s'" % (self.user, host))
        admin.close()
        keys = [{'Key': key} for key in self.bucket_state('')]
        if keys:
            self.s3.delete_objects(Bucket=self.bucket, Delete={'Objects': keys})
        self.s3.delete_bucket(Bucket=self.bucket)


@pytest.fixture(params=['postgresql', 'mysql'])
def stack(request, services, tmp_path):
    if 'S3_ENDPOINT' not in services:
        pytest.fail('MinIO is not running: %s' % services.get('MINIO_ERROR', 'no S3_ENDPOINT in env file'))
    built = Stack(request.param, services, tmp_path)
    yield built
    built.cleanup()


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def files_under(path):
    found = {}
    for current, _dirs, files in os.walk(path):
        for name in files:
            full = os.path.join(current, name)
            found[os.path.relpath(full, path)] = full
    return found


def mutate(stack):
    """Change rows, add a table referencing a backed-up one; change, delete and add objects."""
    stack.sql('DELETE FROM runs WHERE id > 25')
    stack.sql("UPDATE experiments SET name = 'renamed' WHERE id = 2")
    stack.sql("INSERT INTO experiments VALUES (9, 'new', NULL)")
    stack.sql('UPDATE alembic_version SET version_num = %s', ('ffffffffffff',))
    stack.sql('CREATE TABLE extra_table (x int NOT NULL PRIMARY KEY, e int, '
              'FOREIGN KEY (e) REFERENCES experiments (id))')
    stack.sql('INSERT INTO extra_table VALUES (1, 9)')
    stack.put('1/0a1b/artifacts/metrics.json', b'{"accuracy": 0.10}')  # same size, other bytes
    stack.s3.delete_object(Bucket=stack.bucket, Key='%s/2/77ff/artifacts/empty.txt' % PREFIX)
    stack.put('junk/extra.bin', b'x' * 1000)


def test_create_link_prune_restore(stack):
    start_db = stack.db_state()
    first = stack.create(keep=3)
    path1 = first['backup']
    assert os.path.basename(path1) == first['name'] and re.match(r'^\d{8}T\d{6}Z$', first['name'])
    assert first['artifacts']['downloaded'] == len(OBJECTS) and first['artifacts']['linked'] == 0
    assert first['artifacts']['linked_from'] is None

    # the manifest is the real state: each file's bytes and sha256, counts, the dump file
    with open(os.path.join(path1, 'manifest.json')) as handle:
        manifest = json.load(handle)
    assert manifest['format'] == 1 and manifest['mlflow_version'] == MLFLOW_VERSION
    assert manifest['schema_revision'] == REVISION and re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$',
                                                                manifest['created'])
    assert manifest['host']
    db_file = 'database.dump' if stack.engine == 'postgresql' else 'database.sql.gz'
    dump = os.path.join(path1, db_file)
    with open(dump, 'rb') as handle:
        dump_bytes = handle.read()
    assert manifest['db'] == {'engine': stack.engine, 'name': stack.db, 'file': db_file,
                              'bytes': len(dump_bytes), 'sha256': sha256(dump_bytes)}
    assert dump_bytes[:5] == b'PGDMP' if stack.engine == 'postgresql' else dump_bytes[:2] == b'\x1f\x8b'
    listed = {entry['key']: entry for entry in manifest['artifacts']['list']}
    assert set(listed) == set(OBJECTS)
    assert manifest['artifacts']['objects'] == len(OBJECTS)
    assert manifest['artifacts']['bytes'] == sum(len(data) for data in OBJECTS.values())
    assert manifest['artifacts']['destination'] == stack.destination
    on_disk = files_under(os.path.join(path1, 'artifacts'))
    assert set(on_disk) == set(OBJECTS)
    for key, data in OBJECTS.items():
        with open(on_disk[key], 'rb') as handle:
            assert handle.read() == data, key
        assert listed[key]['bytes'] == len(data) and listed[key]['sha256'] == sha256(data)
        head = stack.s3.head_object(Bucket=stack.bucket, Key='%s/%s' % (PREFIX, key))
        assert listed[key]['etag'] == head['ETag'].strip('"')
        assert mode(on_disk[key]) == 0o600
    assert mode(path1) == 0o700 and mode(os.path.join(path1, 'artifacts', '1')) == 0o700
    assert mode(dump) == 0o600 and mode(os.path.join(path1, 'manifest.json')) == 0o600
    assert first['db']['sha256'] == sha256(dump_bytes)
    assert stack.run('verify', '--backup', path1)['objects'] == len(OBJECTS)

    # second backup: a new object is downloaded, the unchanged ones are the same inodes
    stack.put('3/new/artifacts/new.txt', b'new object')
    second = stack.create(keep=3)
    path2 = second['backup']
    assert second['name'] > first['name']
    assert (second['artifacts']['downloaded'], second['artifacts']['linked']) == (1, len(OBJECTS))
    assert second['artifacts']['linked_from'] == first['name']
    for key in OBJECTS:
        assert os.stat(os.path.join(path1, 'artifacts', key)).st_ino == \
            os.stat(os.path.join(path2, 'artifacts', key)).st_ino, key
    assert os.stat(os.path.join(path2, 'artifacts', '3/new/artifacts/new.txt')).st_nlink == 1
    assert stack.run('verify', '--backup', path2)['objects'] == len(OBJECTS) + 1

    # third with --keep 2: the oldest and a stale .partial go
    stale = os.path.join(stack.backups, '20000101T000000Z.partial')
    os.mkdir(stale)
    state3 = stack.state()
    third = stack.create(keep=2)
    assert third['pruned'] == [first['name']] and third['kept'] == [third['name'], second['name']]
    assert third['removed_partial'] == ['20000101T000000Z.partial']
    assert sorted(os.listdir(stack.backups)) == [second['name'], third['name']]
    listing = stack.run('list', '--dir', stack.backups)
    assert [b['name'] for b in listing['backups']] == [third['name'], second['name']]
    newest = listing['backups'][0]
    assert newest['objects'] == len(OBJECTS) + 1 and newest['schema_revision'] == REVISION
    assert newest['mlflow_version'] == MLFLOW_VERSION and newest['created'] == third['created']
    assert newest['artifact_bytes'] == third['artifacts']['bytes']

    # change everything, then restore the third backup
    mutate(stack)
    assert stack.state() != state3
    restored = stack.restore(third['backup'])
    assert stack.state() == state3
    assert stack.db_state() == start_db
    assert 'extra_table' not in stack.db_state()
    # metrics.json (changed) and empty.txt (deleted) uploaded; junk deleted; the rest, the 9 MiB
    # multipart object included, left alone
    assert (restored['uploaded'], restored['deleted'], restored['unchanged']) == (2, 1, len(OBJECTS) - 1)
    assert restored['tables'] == 3 and restored['schema_revision'] == REVISION
    assert restored['mlflow_version'] == MLFLOW_VERSION
    assert stack.bucket_state('') == state3[1]  # the keys outside the prefix too

    # a second restore changes nothing in the bucket and keeps the database equal
    again = stack.restore(third['backup'])
    assert (again['uploaded'], again['deleted'], again['unchanged']) == (0, 0, len(OBJECTS) + 1)
    assert stack.state() == state3

    tools = stack.check_secrets_kept()
    expected = {'pg_dump', 'pg_restore', 'psql'} if stack.engine == 'postgresql' else {'mariadb-dump', 'mariadb'}
    assert set(tools) == expected
    with open(stack.shim_log) as handle:
        log = handle.read()
    if stack.engine == 'postgresql':
        # the URI's TLS mode reaches the tools as PGSSLMODE
        assert 'env: PGSSLMODE=disable' in log and 'env: PGUSER=%s' % stack.user in log
    else:
        # the option file comes first, as the mariadb tools require
        for call in log.split('tool: ')[1:]:
            assert call.splitlines()[1].startswith('arg: --defaults-extra-file='), call[:300]
    assert 'MLFLOW_BACKEND_STORE_URI' not in log and stack.services['S3_SECRET_KEY'] not in log
    for path in (third['backup'], second['backup']):
        with open(os.path.join(path, 'manifest.json')) as handle:
            assert stack.password not in handle.read()


def test_refusals_change_nothing(stack):
    backup = stack.create()['backup']
    mutate(stack)
    before = stack.state()
    manifest_path = os.path.join(backup, 'manifest.json')
    with open(manifest_path, 'rb') as handle:
        original = handle.read()

    # one sha256 of the manifest changed
    manifest = json.loads(original)
    entry = manifest['artifacts']['list'][0]
    entry['sha256'] = ('0' if entry['sha256'][0] != '0' else '1') + entry['sha256'][1:]
    with open(manifest_path, 'w') as handle:
        json.dump(manifest, handle)
    message = stack.run('verify', '--backup', backup, rc=2)
    assert 'refused' in message and entry['key'] in message and 'sha256' in message
    assert entry['key'] in stack.restore(backup, rc=2)
    assert stack.state() == before
    with open(manifest_path, 'wb') as handle:
        handle.write(original)

    # one byte of the dump changed
    dump = os.path.join(backup, 'database.dump' if stack.engine == 'postgresql' else 'database.sql.gz')
    with open(dump, 'r+b') as handle:
        handle.seek(os.path.getsize(dump) // 2)
        byte = handle.read(1)
        handle.seek(-1, os.SEEK_CUR)
        handle.write(bytes([byte[0] ^ 0xFF]))
    assert os.path.basename(dump) in stack.run('verify', '--backup', backup, rc=2)
    assert os.path.basename(dump) in stack.restore(backup, rc=2)
    assert stack.state() == before
    with open(dump, 'r+b') as handle:
        handle.seek(os.path.getsize(dump) // 2)
        handle.write(byte)
    assert stack.run('verify', '--backup', backup)['ok'] is True

    # a file that the manifest does not list
    extra = os.path.join(backup, 'artifacts', 'unlisted.bin')
    with open(extra, 'wb') as handle:
        handle.write(b'?')
    assert 'unlisted file artifacts/unlisted.bin' in stack.restore(backup, rc=2)
    os.remove(extra)

    # made by a newer MLflow than the installed one
    message = stack.run('restore', '--backup', backup, '--artifacts-destination', stack.destination,
                        '--mlflow-version', '3.0.0', version=False, rc=2)
    assert 'newer than the installed 3.0.0' in message

    # another database engine (refused before connecting anywhere)
    other = dict(stack.env(), MLFLOW_BACKEND_STORE_URI=(
        'mysql+pymysql://nobody:x@127.0.0.1:1/none' if stack.engine == 'postgresql'
        else 'postgresql+psycopg2://nobody:x@127.0.0.1:1/none'))
    assert 'holds a %s database' % stack.engine in stack.restore(backup, rc=2, env=other)
    assert stack.state() == before

    # the untouched backup still restores
    stack.restore(backup)
    assert stack.state() != before
    stack.check_secrets_kept()


@pytest.mark.parametrize('stack', ['postgresql'], indirect=True)
def test_postgresql_failed_restore_changes_nothing(stack):
    """The drops and the restore script run in one transaction: a failure rolls all of it back."""
    backup = stack.create()['backup']
    mutate(stack)
    # a type in the way of the view the restore script drops and recreates makes it fail after the
    # tables were dropped
    stack.sql('DROP VIEW run_counts')
    stack.sql('CREATE TYPE run_counts AS (x int)')
    before = stack.state()
    message = stack.restore(backup, rc=1)
    assert 'psql failed' in message and 'the database was not changed' in message, message
    assert 'ERROR: "run_counts" is not a view' in message and 'NOTICE' not in message, message
    assert stack.state() == before
    assert 'extra_table' in before[0]
    stack.sql('DROP TYPE run_counts')
    stack.restore(backup)
    assert 'extra_table' not in stack.db_state() and 'run_counts' in stack.db_state()


@pytest.mark.parametrize('stack', ['postgresql'], indirect=True)
def test_lock_held_and_mlflow_version_required(stack):
    args = ('create', '--dir', stack.backups, '--artifacts-destination', stack.destination, '--keep', '1')
    with open(stack.lock, 'w') as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert 'holds the lock %s' % stack.lock in stack.run(*args, rc=1)
    assert not os.path.exists(stack.backups)

    # where the mlflow distribution is not installed, --mlflow-version is required
    from importlib import metadata
    try:
        installed = metadata.version('mlflow')
    except metadata.PackageNotFoundError:
        installed = None
    if installed:
        assert stack.run(*args, version=False)['mlflow_version'] == installed
    else:
        assert '--mlflow-version' in stack.run(*args, version=False, rc=1)
        assert not os.path.exists(stack.backups)
        assert stack.run(*args)['mlflow_version'] == MLFLOW_VERSION

    # a destination without a prefix: the whole bucket, keys as they are; an empty "folder" object
    # is skipped by create, and deleted by restore (it is not in the backup)
    stack.s3.put_object(Bucket=stack.bucket, Key='%s/folder/' % PREFIX, Body=b'')
    whole = stack.run('create', '--dir', stack.backups, '--artifacts-destination', 's3://%s' % stack.bucket,
                      '--keep', '1')
    assert whole['artifacts']['objects'] == len(OBJECTS) + len(OUTSIDE) and whole['pruned']
    assert whole['artifacts']['skipped_folder_markers'] == 1
    expected = {'%s/%s' % (PREFIX, key) for key in OBJECTS} | set(OUTSIDE)
    assert set(files_under(os.path.join(whole['backup'], 'artifacts'))) == expected
    restored = stack.run('restore', '--backup', whole['backup'], '--artifacts-destination', 's3://%s' % stack.bucket)
    assert (restored['deleted'], restored['uploaded']) == (1, 0)
    assert set(stack.bucket_state('')) == expected
    assert 'no backup directory' in stack.run('verify', '--backup', stack.backups + '/nothing', rc=1)


def load_program():
    spec = importlib.util.spec_from_file_location('mlflow_backup_under_test', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_connection_settings_as_the_tools_read_them(monkeypatch, tmp_path):
    """The TLS settings of the URIs the mlflow role writes reach the tools; the option file parses back."""
    program = load_program()
    password = 'P:w@/%#"\'\\ ;=&?+\tend'
    monkeypatch.setenv('MLFLOW_BACKEND_STORE_URI', 'mysql+pymysql://mlflow:%s@db.example:3306/mlflow?charset=utf8mb4'
                       '&ssl_ca=/etc/onprem-mlflow/ca.crt' % quote(password, safe=''))
    database = program.Database()
    assert database.engine == 'mysql' and password not in database.shown()
    options = program.write_private(str(tmp_path), 'client.cnf', database.mysql_defaults())
    assert mode(options) == 0o600
    for tool in ('mariadb', 'mariadb-dump'):
        printed = subprocess.run([shutil.which(tool), '--defaults-extra-file=%s' % options, '--print-defaults'],
                                 capture_output=True, text=True, check=True, timeout=30).stdout
        for option in ('--user=mlflow', '--password=%s' % password, '--host=db.example', '--port=3306',
                       '--protocol=TCP', '--default-character-set=utf8mb4', '--ssl-ca=/etc/onprem-mlflow/ca.crt',
                       '--ssl-verify-server-cert'):
            assert option in printed, (tool, option, printed)
        assert '--skip-ssl' not in printed

    monkeypatch.setenv('MLFLOW_BACKEND_STORE_URI', 'postgresql+psycopg2://mlflow:%s@db.example:5432/mlflow?sslmode='
                       'verify-full&sslrootcert=/etc/onprem-mlflow/ca.crt' % quote(password, safe=''))
    monkeypatch.setenv('PGPASSWORD', 'inherited')
    database = program.Database()
    assert database.engine == 'postgresql' and database.file == 'database.dump'
    env = database._pg_env(str(tmp_path))  # pylint: disable=protected-access
    assert {name: env[name] for name in env if name.startswith('PG')} == {
        'PGPASSFILE': os.path.join(str(tmp_path), 'pgpass'), 'PGHOST': 'db.example', 'PGPORT': '5432',
        'PGUSER': 'mlflow', 'PGDATABASE': 'mlflow', 'PGSSLMODE': 'verify-full',
        'PGSSLROOTCERT': '/etc/onprem-mlflow/ca.crt', 'PGCONNECT_TIMEOUT': '30', 'PGAPPNAME': 'mlflow_backup'}
    assert mode(env['PGPASSFILE']) == 0o600
    with open(env['PGPASSFILE']) as handle:
        assert handle.read() == '*:*:*:*:%s\n' % password.replace('\\', '\\\\').replace(':', '\\:')
