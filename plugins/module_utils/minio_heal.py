# -*- coding: utf-8 -*-
# Copyright: onprem.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a MinIO heal sequence found and did, read from its result items (pure; used by onprem.mlflow.minio_heal).

A heal sequence (``POST /minio/admin/v3/heal/...``) reports one item per thing it looked at: MinIO's
own metadata, a bucket, a bucket's metadata, an object version. Each item lists every drive of the
item's erasure set twice, before and after the heal, with a state: ``ok``, ``missing`` or ``corrupt``
(the heal writes these back), ``offline`` (the drive did not answer: nothing can be written to it),
and a few rarer ones. A dry run leaves ``after`` equal to ``before``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

#: Drive states a heal repairs by writing the item back to the drive.
REPAIRABLE_STATES = ('missing', 'corrupt')
#: A drive that did not answer: its items cannot be healed until it is back.
OFFLINE_STATE = 'offline'
#: HealOpts.scanMode values (madmin HealScanMode).
SCAN_MODES = dict(normal=1, deep=2)
#: HealTaskStatus.summary of a sequence that still runs.
RUNNING = 'running'


def heal_options(dry_run, scan_mode='normal', remove=False, recursive=True):
    """The HealOpts document that starts a sequence."""
    return dict(recursive=bool(recursive), dryRun=bool(dry_run), remove=bool(remove),
                recreate=False, scanMode=SCAN_MODES[scan_mode], nolock=False)


def item_name(item):
    """A readable name of a result item: bucket/object (with its version), a bucket, or MinIO's metadata."""
    kind = item.get('type') or 'item'
    bucket, obj = item.get('bucket') or '', item.get('object') or ''
    if kind == 'object' or obj:
        name = '%s/%s' % (bucket, obj)
        if item.get('versionId') not in (None, '', 'null'):  # "null": an object of an unversioned bucket
            name += '?versionId=%s' % item['versionId']
        return name
    if bucket:
        return '%s %s' % (kind, bucket)
    return kind


def _drives(item, side):
    return (item.get(side) or {}).get('drives') or []


def summarize(items, dry_run):
    """Sort the items of a whole sequence into what the heal found and did.

    Returns a dict:
      scanned:      number of items;
      needed:       names of the items that lacked a copy on a drive that answered (missing or corrupt);
      healed:       names of those written back (a real run: the drive is ok after the heal);
      unhealed:     names of those still lacking a copy on a drive that answered after a real run;
      offline:      endpoints of the drives that did not answer, for any item.
    In a dry run ``healed`` and ``unhealed`` are empty: nothing was written.
    """
    needed, healed, unhealed = [], [], []
    offline = set()
    for item in items:
        before, after = _drives(item, 'before'), _drives(item, 'after')
        for drive in before + after:
            if drive.get('state') == OFFLINE_STATE:
                offline.add(drive.get('endpoint') or drive.get('uuid') or '?')
        lacking = [d.get('endpoint') for d in before if d.get('state') in REPAIRABLE_STATES]
        if not lacking:
            continue
        name = item_name(item)
        needed.append(name)
        if dry_run:
            continue
        still = [d.get('endpoint') for d in after if d.get('state') in REPAIRABLE_STATES]
        (unhealed if still else healed).append(name)
    return dict(scanned=len(items), needed=sorted(set(needed)), healed=sorted(set(healed)),
                unhealed=sorted(set(unhealed)), offline=sorted(offline))
