# -*- coding: utf-8 -*-
"""Make ``ansible_collections.onprem.mlflow`` importable when pytest runs from a checkout.

ansible-test units already runs from a tree laid out as ansible_collections/onprem/mlflow;
a plain ``pytest tests/unit`` from the repository root needs a link to the checkout.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _collections_dir():
    parts = ROOT.split(os.sep)
    if parts[-3:-1] == ['ansible_collections', 'onprem'] and parts[-1] == 'mlflow':
        return os.sep.join(parts[:-3])
    cached = os.path.join(ROOT, '.cache', 'collections')
    if os.path.realpath(os.path.join(cached, 'ansible_collections', 'onprem', 'mlflow')) == os.path.realpath(ROOT):
        return cached
    base = tempfile.mkdtemp(prefix='onprem-mlflow-unit-')
    os.makedirs(os.path.join(base, 'ansible_collections', 'onprem'))
    os.symlink(ROOT, os.path.join(base, 'ansible_collections', 'onprem', 'mlflow'))
    return base


try:
    importlib.import_module('ansible_collections.onprem.mlflow.plugins.module_utils.sql')
except ImportError:
    sys.path.insert(0, _collections_dir())
    for name in [m for m in sys.modules if m == 'ansible_collections' or m.startswith('ansible_collections.')]:
        del sys.modules[name]
