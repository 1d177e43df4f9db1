# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.onprem.mlflow.plugins.module_utils import minio_heal


def drives(*states):
    return dict(drives=[dict(endpoint='https://10.0.0.%d:9000/d' % i, state=s) for i, s in enumerate(states, 1)])


def item(kind='object', bucket='mlflow', obj='a/b.bin', before=('ok', 'ok'), after=None, version=''):
    return {'type': kind, 'bucket': bucket, 'object': obj, 'versionId': version,
            'before': drives(*before), 'after': drives(*(after or before))}


def test_heal_options_start_a_recursive_sequence():
    assert minio_heal.heal_options(True) == dict(recursive=True, dryRun=True, remove=False, recreate=False,
                                                 scanMode=1, nolock=False)
    assert minio_heal.heal_options(False, 'deep', remove=True)['scanMode'] == 2


def test_item_names():
    assert minio_heal.item_name(item()) == 'mlflow/a/b.bin'
    assert minio_heal.item_name(item(version='v1')) == 'mlflow/a/b.bin?versionId=v1'
    assert minio_heal.item_name(item(version='null')) == 'mlflow/a/b.bin'
    assert minio_heal.item_name(item(kind='bucket', obj='')) == 'bucket mlflow'
    assert minio_heal.item_name(item(kind='metadata', bucket='', obj='')) == 'metadata'


def test_a_real_run_sorts_healed_from_unhealed_and_names_offline_drives():
    items = [
        item(obj='whole'),
        item(obj='healed', before=('missing', 'ok'), after=('ok', 'ok')),
        item(obj='corrupt', before=('ok', 'corrupt'), after=('ok', 'ok')),
        item(obj='stuck', before=('missing', 'ok'), after=('missing', 'ok')),
        # An offline drive cannot be written: reported, not counted as needing a heal.
        item(obj='away', before=('offline', 'ok'), after=('offline', 'ok')),
    ]
    found = minio_heal.summarize(items, dry_run=False)
    assert found == dict(scanned=5, needed=['mlflow/corrupt', 'mlflow/healed', 'mlflow/stuck'],
                         healed=['mlflow/corrupt', 'mlflow/healed'], unhealed=['mlflow/stuck'],
                         offline=['https://10.0.0.1:9000/d'])


def test_a_dry_run_only_finds():
    items = [item(obj='healed', before=('missing', 'ok'))]
    found = minio_heal.summarize(items, dry_run=True)
    assert found == dict(scanned=1, needed=['mlflow/healed'], healed=[], unhealed=[], offline=[])


def test_items_without_drives_are_counted_only():
    assert minio_heal.summarize([{'type': 'metadata'}], dry_run=False)['scanned'] == 1
    assert minio_heal.summarize([{'type': 'metadata'}], dry_run=False)['needed'] == []
