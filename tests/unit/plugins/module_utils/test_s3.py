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


# --- the lifecycle rule that aborts incomplete multipart uploads -----------------------------

OURS = s3.ABORT_MULTIPART_RULE_ID
FOREIGN = dict(ID='expire-tmp', Status='Enabled', Filter=dict(Prefix='tmp/'), Expiration=dict(Days=7))


def test_abort_rule_shape():
    assert s3.abort_multipart_rule(3) == dict(
        ID='onprem-mlflow-abort-incomplete-multipart', Status='Enabled', Filter=dict(Prefix=''),
        AbortIncompleteMultipartUpload=dict(DaysAfterInitiation=3))


@pytest.mark.parametrize('days', [None, 0, 1, 30])
def test_valid_abort_days(days):
    assert s3.validate_abort_days(days) == days


def test_negative_abort_days_name_the_value():
    with pytest.raises(ValueError, match=r'abort_incomplete_multipart_upload_days -1'):
        s3.validate_abort_days(-1)


@pytest.mark.parametrize('rules, days', [
    (None, None),
    ([], None),
    ([FOREIGN], None),
    ([FOREIGN, s3.abort_multipart_rule(5)], 5),
    # The same rule written with the older top-level Prefix, or an empty filter: still ours.
    ([dict(ID=OURS, Status='Enabled', Prefix='', AbortIncompleteMultipartUpload=dict(DaysAfterInitiation=2))], 2),
    ([dict(ID=OURS, Status='Enabled', Filter={}, AbortIncompleteMultipartUpload=dict(DaysAfterInitiation=2))], 2),
    # A rule with our ID that is not exactly ours counts as none (the planner rewrites it).
    ([dict(s3.abort_multipart_rule(5), Status='Disabled')], None),
    ([dict(s3.abort_multipart_rule(5), Filter=dict(Prefix='a/'))], None),
    ([dict(s3.abort_multipart_rule(5), Expiration=dict(Days=9))], None),
    ([dict(ID=OURS, Status='Enabled', Filter=dict(Prefix=''), Expiration=dict(Days=9))], None),
])
def test_abort_days_read_from_rules(rules, days):
    assert s3.abort_multipart_days(rules) == days


def test_plan_abort_none_leaves_lifecycle_alone():
    assert s3.plan_abort_multipart([FOREIGN], None) == dict(action=None, rules=[FOREIGN])
    assert s3.plan_abort_multipart(None, None)['action'] is None


def test_plan_abort_adds_after_foreign_rules():
    plan = s3.plan_abort_multipart([FOREIGN], 7)
    assert plan == dict(action='set_abort_multipart_rule', rules=[FOREIGN, s3.abort_multipart_rule(7)])
    first = s3.plan_abort_multipart(None, 1)
    assert first == dict(action='set_abort_multipart_rule', rules=[s3.abort_multipart_rule(1)])


def test_plan_abort_same_days_is_no_change():
    rules = [s3.abort_multipart_rule(7), FOREIGN]
    assert s3.plan_abort_multipart(rules, 7) == dict(action=None, rules=rules)


def test_plan_abort_rewrites_in_place():
    rules = [s3.abort_multipart_rule(7), FOREIGN]
    plan = s3.plan_abort_multipart(rules, 3)
    assert plan == dict(action='set_abort_multipart_rule', rules=[s3.abort_multipart_rule(3), FOREIGN])
    disabled = [FOREIGN, dict(s3.abort_multipart_rule(3), Status='Disabled')]
    assert s3.plan_abort_multipart(disabled, 3)['rules'] == [FOREIGN, s3.abort_multipart_rule(3)]
    assert rules == [s3.abort_multipart_rule(7), FOREIGN], 'the rules read are not modified'


def test_plan_abort_zero_removes_only_ours():
    plan = s3.plan_abort_multipart([FOREIGN, s3.abort_multipart_rule(7)], 0)
    assert plan == dict(action='remove_abort_multipart_rule', rules=[FOREIGN])
    # The last rule gone: no rules left, the configuration is deleted.
    assert s3.plan_abort_multipart([s3.abort_multipart_rule(7)], 0) == dict(
        action='remove_abort_multipart_rule', rules=[])
    # Nothing of ours: nothing to do, with or without other rules.
    assert s3.plan_abort_multipart([FOREIGN], 0) == dict(action=None, rules=[FOREIGN])
    assert s3.plan_abort_multipart(None, 0)['action'] is None


def test_plan_bucket_without_the_option_has_no_lifecycle_key():
    result = plan(dict(exists=True, versioning=None, empty=None))
    assert 'abort_incomplete_multipart_upload_days' not in result['before']
    assert 'abort_incomplete_multipart_upload_days' not in result['after']
    assert result['lifecycle_rules'] is None


def test_plan_bucket_creates_with_the_rule():
    result = plan(MISSING, versioning=True, abort_incomplete_multipart_upload_days=7)
    assert result['actions'] == ['create', 'enable_versioning', 'set_abort_multipart_rule']
    assert result['before'] == dict(name='b1', exists=False, versioning=None,
                                    abort_incomplete_multipart_upload_days=None)
    assert result['after'] == dict(name='b1', exists=True, versioning=True,
                                   abort_incomplete_multipart_upload_days=7)
    assert result['lifecycle_rules'] == [s3.abort_multipart_rule(7)]
    assert plan(MISSING, abort_incomplete_multipart_upload_days=0)['actions'] == ['create']


def test_plan_bucket_changes_and_removes_the_rule():
    actual = dict(exists=True, versioning='Enabled', empty=None,
                  lifecycle_rules=[FOREIGN, s3.abort_multipart_rule(7)])
    same = plan(actual, abort_incomplete_multipart_upload_days=7)
    assert same['actions'] == [] and same['before'] == same['after']
    assert same['after']['abort_incomplete_multipart_upload_days'] == 7
    changed = plan(actual, abort_incomplete_multipart_upload_days=2)
    assert changed['actions'] == ['set_abort_multipart_rule']
    assert changed['before']['abort_incomplete_multipart_upload_days'] == 7
    assert changed['after']['abort_incomplete_multipart_upload_days'] == 2
    assert changed['lifecycle_rules'] == [FOREIGN, s3.abort_multipart_rule(2)]
    removed = plan(actual, abort_incomplete_multipart_upload_days=0)
    assert removed['actions'] == ['remove_abort_multipart_rule']
    assert removed['after']['abort_incomplete_multipart_upload_days'] is None
    assert removed['lifecycle_rules'] == [FOREIGN]


def test_plan_bucket_absent_does_not_touch_the_lifecycle():
    actual = dict(exists=True, versioning=None, empty=True, lifecycle_rules=[s3.abort_multipart_rule(7)])
    result = plan(actual, state='absent', abort_incomplete_multipart_upload_days=3)
    assert result['actions'] == ['delete']
    assert result['after']['abort_incomplete_multipart_upload_days'] is None
