# -*- coding: utf-8 -*-
# Copyright: onprem.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""MinIO's server configuration as get-config-kv shows it, and the planner of onprem.mlflow.minio_config (pure).

get-config-kv answers (decrypted) with the environment variables that override a setting, as comments,
then the subsystem's settings on one line, values with spaces in double quotes::

    # MINIO_API_STALE_UPLOADS_EXPIRY=12h
    api requests_max=0 cluster_deadline=10s ... stale_uploads_expiry=24h ...
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import shlex

_SUBSYSTEM = re.compile(r'^[a-z][a-z0-9_]*$')
_KEY = re.compile(r'^[a-z][a-z0-9_]*$')


def subsystem_error(name):
    """Why ``name`` is not a configuration subsystem name (api, scanner, ...), or None."""
    if not isinstance(name, str) or not _SUBSYSTEM.match(name):
        return 'a subsystem name is lowercase letters, digits and _ (such as api or scanner)'
    return None


def key_error(name):
    if not isinstance(name, str) or not _KEY.match(name):
        return 'a setting name is lowercase letters, digits and _ (such as stale_uploads_expiry)'
    return None


def parse_config(text, subsystem):
    """(settings, overrides) of ``subsystem`` in a get-config-kv answer.

    ``settings``: name → value of the subsystem's own line (its default target); ``overrides``:
    environment variable → value of the ``# MINIO_...`` lines.
    """
    settings, overrides = {}, {}
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith('#'):
            name, sep, value = line.lstrip('#').strip().partition('=')
            if sep and name.startswith('MINIO_'):
                overrides[name] = value
            continue
        fields = shlex.split(line)
        if not fields or fields[0] != subsystem:
            continue  # another subsystem, or a named target (subsystem:target)
        for field in fields[1:]:
            name, sep, value = field.partition('=')
            if sep:
                settings[name] = value
    return settings, overrides


def env_name(subsystem, key):
    """The environment variable that overrides ``key`` of ``subsystem`` (MinIO's naming)."""
    return 'MINIO_%s_%s' % (subsystem.upper(), key.upper())


def format_line(subsystem, settings):
    """The set-config-kv line: ``<subsystem> k=v ...``, a value with spaces, quotes or = in double quotes."""
    parts = [subsystem]
    for name in sorted(settings):
        value = settings[name]
        if value == '' or re.search(r'[\s"=\\]', value):
            value = '"%s"' % value.replace('\\', '\\\\').replace('"', '\\"')
        parts.append('%s=%s' % (name, value))
    return ' '.join(parts)


def plan_config(subsystem, current, overrides, wanted):
    """What set-config-kv must change. Raises ValueError for unknown names and environment overrides.

    Returns dict(change=name → wanted value, before=name → current value, after=name → wanted value),
    over the wanted names only.
    """
    unknown = sorted(set(wanted) - set(current))
    if unknown:
        raise ValueError('MinIO has no setting %s in subsystem %r (it has: %s)'
                         % (', '.join(unknown), subsystem, ', '.join(sorted(current))))
    blocked = sorted(env_name(subsystem, k) for k in wanted
                     if env_name(subsystem, k) in overrides and overrides[env_name(subsystem, k)] != wanted[k])
    if blocked:
        raise ValueError('the environment of the MinIO server sets %s, which overrides the configuration: '
                         'remove it from the server environment first' % ', '.join(blocked))
    before = dict((k, current[k]) for k in wanted)
    change = dict((k, v) for k, v in wanted.items() if current[k] != v)
    return dict(change=change, before=before, after=dict(wanted))
