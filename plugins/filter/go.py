# -*- coding: utf-8 -*-
# Copyright: onprem.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for building Go programs on the controller (the minio role's source method).

They read the values Go itself uses: a GOPROXY list, the version a Go toolchain reports, and the
pseudo-version of a module commit.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

from ansible.errors import AnsibleFilterError

# go1.21.0, go1.21rc2, go1.21 (a language version, or a release before Go 1.21 numbered patches)
_GO_VERSION = re.compile(
    r"(?:^|[^0-9A-Za-z.])(?:go)?([0-9]+)\.([0-9]+)(?:\.([0-9]+)|(alpha|beta|rc)([0-9]+))?(?![0-9.])")
# vX.0.0-yyyymmddhhmmss-abcdefabcdef, vX.Y.Z-pre.0.yyyymmddhhmmss-abcdef..., vX.Y.(Z+1)-0.yyyymmddhhmmss-...
_PSEUDO_VERSION = re.compile(
    r"^v[0-9]+\.[0-9]+\.[0-9]+-(?:[0-9A-Za-z.-]*\.)?([0-9]{14})-([0-9a-f]{12})(?:\+incompatible)?$")
# Go's order within one minor version: language version < alpha < beta < rc < releases.
_LANGUAGE = 0
_STAGES = {"alpha": 1, "beta": 2, "rc": 3}
_RELEASE = 4


def go_proxy_url(goproxy):
    """The first proxy URL of a GOPROXY list (filter ``onprem.mlflow.go_proxy_url``).

    Entries are separated by ``,`` or ``|``; ``direct`` and ``off`` (and any other bare word) are
    skipped. As Go does, an entry without a scheme gets ``https://``. Returns ``''`` when the list
    names no proxy. A trailing ``/`` is removed.
    """
    for entry in re.split(r"[,|]", str(goproxy or "")):
        entry = entry.strip()
        if not entry or entry in ("direct", "off"):
            continue
        if ":/" not in entry:
            # Go's rule: single words are keywords, absolute paths must be file:// URLs.
            if not any(c in entry for c in ".:/") or entry.startswith("/"):
                continue
            entry = "https://" + entry
        return entry.rstrip("/")
    return ""


def _go_version_key(value):
    match = _GO_VERSION.search(str(value or ""))
    if not match:
        return None
    major, minor, patch, stage, pre = match.groups()
    if patch is not None:
        return (int(major), int(minor), _RELEASE, int(patch), 0)
    if stage is not None:
        return (int(major), int(minor), _STAGES[stage], 0, int(pre))
    # go1.20 and older name their first release without a patch number (go1.20 == go1.20.0).
    if (int(major), int(minor)) < (1, 21):
        return (int(major), int(minor), _RELEASE, 0, 0)
    return (int(major), int(minor), _LANGUAGE, 0, 0)


def go_version_at_least(version, minimum):
    """Whether a Go version is at least ``minimum`` (filter ``onprem.mlflow.go_version_at_least``).

    ``version`` may be what ``go env GOVERSION`` or ``go version`` prints (``go1.19.8``,
    ``go version go1.24.0 linux/amd64``, ``devel go1.26-abc...``); an unreadable or empty one is
    not at least anything. Go's order: 1.21 < 1.21rc1 < 1.21.0 < 1.21.1.
    """
    wanted = _go_version_key(minimum)
    if wanted is None:
        raise AnsibleFilterError("go_version_at_least: %r is not a Go version such as 1.24.0" % (minimum,))
    have = _go_version_key(version)
    return have is not None and have >= wanted


def go_pseudo_version(version):
    """Commit time and hash of a Go pseudo-version (filter ``onprem.mlflow.go_pseudo_version``).

    ``v0.0.0-20260212201848-7aac2a2c5b7c`` gives ``{'time': '2026-02-12T20:18:48Z',
    'commit': '7aac2a2c5b7c'}``; a version that is no pseudo-version (a tag) gives ``{}``.
    """
    match = _PSEUDO_VERSION.match(str(version or ""))
    if not match:
        return {}
    stamp, commit = match.groups()
    try:
        when = datetime.datetime.strptime(stamp, "%Y%m%d%H%M%S")
    except ValueError:
        return {}
    return {"time": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "commit": commit}


class FilterModule(object):
    def filters(self):
        return {
            "go_proxy_url": go_proxy_url,
            "go_version_at_least": go_version_at_least,
            "go_pseudo_version": go_pseudo_version,
        }
