# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.onprem.mlflow.plugins.module_utils import s3


@pytest.mark.parametrize('name', ['abc', 'mlflow', 'my.bucket-1', 'a' * 63, '0day'])
def test_valid_names(name):
    assert s3.bucket_name_error(name) is None
    assert s3.validate_bucket_name(name) == name


@pytest.mark.parametrize('name, reason', [
    ('ab', '3 to 63'), ('a' * 64, '3 to 63'), ('Upper', 'lowercase'), ('under_score', 'lowercase'),
    ('-start', 'begin and end'), ('end-', 'begin and end'), ('a..b', 'dots'), ('a.-b', 'dots'),
    ('192.168.1.1', 'IP address'), ('xn--abc', 'prefix'), ('abc-s3alias', 'suffix'), ('', 'empty'),
])
def test_invalid_names_name_the_value(name, reason):
    assert reason in s3.bucket_name_error(name)
    with pytest.raises(ValueError) as exc:
        s3.validate_bucket_name(name)
    assert repr(name) in str(exc.value)


def plan(actual, **wanted):
    base = dict(name='b1', state='present', versioning=None, force=False)
    base.update(wanted)
    return s3.plan_bucket(actual, base)


MISSING = dict(exists=False, versioning=None, empty=None)


def test_create_with_and_without_versioning():
    assert plan(MISSING)['actions'] == ['create']
    result = plan(MISSING, versioning=True)
    assert result['actions'] == ['create', 'enable_versioning']
    assert result['before'] == dict(name='b1', exists=False, versioning=None)
    assert result['after'] == dict(name='b1', exists=True, versioning=True)
    assert plan(MISSING, versioning=False)['actions'] == ['create']


def test_versioning_left_alone_or_changed():
    enabled = dict(exists=True, versioning='Enabled', empty=None)
    suspended = dict(exists=True, versioning='Suspended', empty=None)
    never = dict(exists=True, versioning=None, empty=None)
    assert plan(enabled)['actions'] == []
    assert plan(enabled, versioning=True)['actions'] == []
    assert plan(enabled, versioning=False)['actions'] == ['suspend_versioning']
    assert plan(suspended, versioning=False)['actions'] == []
    assert plan(never, versioning=False)['actions'] == []
    assert plan(suspended, versioning=True)['actions'] == ['enable_versioning']


def test_absent():
    assert plan(MISSING, state='absent')['actions'] == []
    assert plan(dict(exists=True, versioning=None, empty=True), state='absent')['actions'] == ['delete']
    full = dict(exists=True, versioning='Enabled', empty=False)
    with pytest.raises(ValueError, match='not empty'):
        plan(full, state='absent')
    result = plan(full, state='absent', force=True)
    assert result['actions'] == ['empty', 'delete']
    assert result['after'] == dict(name='b1', exists=False, versioning=None)
