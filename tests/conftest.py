# -*- coding: utf-8 -*-
"""Where the collection is importable as ``ansible_collections.onprem.mlflow``, for every test.

ansible-test runs from a tree laid out as ansible_collections/onprem/mlflow; a plain ``pytest``
from a checkout uses the link `make venv` puts in .cache/collections, or a temporary one.
Unit tests import the collection's Python; integration tests hand the same directory to
ansible-playbook (fixture ``collections_dir``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import importlib
import os
import sys
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@functools.cache
def collections_dir():
    parts = ROOT.split(os.sep)
    if parts[-3:] == ['ansible_collections', 'onprem', 'mlflow']:
        return os.sep.join(parts[:-3])
    cached = os.path.join(ROOT, '.cache', 'collections')
    if os.path.realpath(os.path.join(cached, 'ansible_collections', 'onprem', 'mlflow')) == os.path.realpath(ROOT):
        return cached
    base = tempfile.mkdtemp(prefix='onprem-mlflow-tests-')
    os.makedirs(os.path.join(base, 'ansible_collections', 'onprem'))
    os.symlink(ROOT, os.path.join(base, 'ansible_collections', 'onprem', 'mlflow'))
    return base


try:
    importlib.import_module('ansible_collections.onprem.mlflow.plugins.module_utils.sql')
except ImportError:
    sys.path.insert(0, collections_dir())
    for name in [m for m in sys.modules if m == 'ansible_collections' or m.startswith('ansible_collections.')]:
        del sys.modules[name]


@pytest.fixture(name='collections_dir', scope='session')
def collections_dir_fixture():
    return collections_dir()
