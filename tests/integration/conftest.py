# -*- coding: utf-8 -*-
"""Fixtures of the module integration tests.

The servers come from tests/integration/services.sh (real PostgreSQL, MariaDB and MinIO on
loopback); their connection details are read from $ONPREM_MLFLOW_IT_DIR/env. The modules are
run THROUGH ANSIBLE (ansible-playbook, JSON stdout callback); the server state is then read
directly with psycopg2 / PyMySQL / boto3.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IT_DIR = os.environ.get('ONPREM_MLFLOW_IT_DIR', '/tmp/onprem-mlflow-it')
ENV_FILE = os.path.join(IT_DIR, 'env')
BIN_DIR = os.path.dirname(sys.executable)


def _read_env():
    values = {}
    if not os.path.exists(ENV_FILE):
        return None
    with open(ENV_FILE) as handle:
        for line in handle:
            line = line.strip()
            if line and '=' in line:
                key, value = line.split('=', 1)
                values[key] = value.strip('"')
    return values


@pytest.fixture(scope='session')
def services():
    values = _read_env()
    if values is None:
        pytest.fail('%s is missing: start the servers with tests/integration/services.sh start' % ENV_FILE)
    return values


class Runner(object):
    """Run one module task through ansible-playbook and return its JSON result."""

    def __init__(self, workdir, collections):
        self.workdir = workdir
        self.collections = collections
        self.last_stdout = ''

    def __call__(self, module, args, check=False, diff=False, python=None):
        task = {'name': 'under test', module: args, 'check_mode': check, 'diff': diff}
        play = [{'hosts': 'localhost', 'gather_facts': False, 'tasks': [task]}]
        path = os.path.join(self.workdir, 'play-%s.yml' % uuid.uuid4().hex[:8])
        with open(path, 'w') as handle:
            json.dump(play, handle)
        env = dict(os.environ)
        env.update(
            ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'),
            ANSIBLE_COLLECTIONS_PATH=self.collections,
            ANSIBLE_STDOUT_CALLBACK='ansible.posix.json',
            ANSIBLE_LOCALHOST_WARNING='false',
            ANSIBLE_INVENTORY_UNPARSED_WARNING='false',
            ANSIBLE_NOCOLOR='1',
        )
        extra = json.dumps({'ansible_python_interpreter': python or sys.executable})
        proc = subprocess.run(
            [os.path.join(BIN_DIR, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local', '-e', extra, path],
            cwd=ROOT, env=env, capture_output=True, text=True,
            timeout=300, check=False)
        self.last_stdout = proc.stdout
        try:
            output = json.loads(proc.stdout)
        except ValueError as exc:
            raise AssertionError('ansible-playbook gave no JSON (rc %s):\n%s\n%s'
                                 % (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:])) from exc
        result = output['plays'][0]['tasks'][0]['hosts']['localhost']
        result['_rc'] = proc.returncode
        return result


@pytest.fixture
def run(tmp_path, collections_dir):
    return Runner(str(tmp_path), collections_dir)


@pytest.fixture
def unique():
    return 'it_%s' % uuid.uuid4().hex[:8]
