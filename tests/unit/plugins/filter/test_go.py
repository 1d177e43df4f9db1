# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.onprem.mlflow.plugins.filter.go import (
    FilterModule,
    go_proxy_url,
    go_pseudo_version,
    go_version_at_least,
)


def test_every_filter_is_exported():
    assert sorted(FilterModule().filters()) == ["go_proxy_url", "go_pseudo_version", "go_version_at_least"]


@pytest.mark.parametrize("goproxy, url", [
    ("https://goproxy.example.com,direct", "https://goproxy.example.com"),
    ("https://goproxy.example.com/", "https://goproxy.example.com"),
    (" https://a.example/go | https://b.example ", "https://a.example/go"),
    ("direct,https://b.example", "https://b.example"),
    ("off", ""),
    ("direct", ""),
    ("off|direct", ""),
    ("", ""),
    (None, ""),
    (",,", ""),
    # No scheme: Go adds https://; bare words are keywords (unknown ones skipped), paths need file://.
    ("goproxy.example.com", "https://goproxy.example.com"),
    ("localhost:3000/go", "https://localhost:3000/go"),
    ("noproxy,/srv/goproxy,file:///srv/goproxy", "file:///srv/goproxy"),
    ("http://user:secret@mirror.example:8080/go/", "http://user:secret@mirror.example:8080/go"),
])
def test_go_proxy_url_takes_the_first_proxy(goproxy, url):
    assert go_proxy_url(goproxy) == url


@pytest.mark.parametrize("version, minimum, expected", [
    ("go1.19.8", "1.24.0", False),               # Debian 12's golang-go
    ("go1.24.0", "1.24.0", True),
    ("go1.24.13", "1.24.0", True),
    ("go1.26.10", "1.24.0", True),
    ("go1.23.12", "1.24.0", False),
    ("go1.24rc1", "1.24.0", False),               # a release candidate is older than the release
    ("go1.24rc1", "1.24", True),                  # ... and newer than the language version
    ("go1.24beta1", "1.24rc1", False),
    ("go1.24alpha1", "1.24beta1", False),
    ("go1.10", "1.9.7", True),                    # numbers, not strings
    ("go1.20", "1.20.0", True),                   # before 1.21 the first release had no .0
    ("go1.21", "1.21.0", False),                  # since 1.21 "1.21" is the language version
    ("go2.0.0", "1.24.0", True),
    ("go version go1.26.8 linux/amd64", "1.24.0", True),
    ("go version go1.19.8 linux/amd64", "1.24.0", False),
    ("devel go1.27-5c4d3a2b1e Tue Oct 6 10:00:00 2026 +0000", "1.24.0", True),
    ("go1.25.1 X:nodwarf5", "1.25.1", True),
    ("1.24.0", "go1.24.0", True),
    ("", "1.24.0", False),                        # no Go
    ("bash: go: command not found", "1.24.0", False),
    (None, "1.24.0", False),
])
def test_go_version_at_least_follows_go_order(version, minimum, expected):
    assert go_version_at_least(version, minimum) is expected


@pytest.mark.parametrize("minimum", ["", "latest", None, "1"])
def test_go_version_at_least_refuses_a_bad_minimum(minimum):
    with pytest.raises(AnsibleFilterError, match="not a Go version"):
        go_version_at_least("go1.24.0", minimum)


@pytest.mark.parametrize("version, expected", [
    ("v0.0.0-20260212201848-7aac2a2c5b7c", {"time": "2026-02-12T20:18:48Z", "commit": "7aac2a2c5b7c"}),
    # vX.Y.(Z+1)-0.yyyymmddhhmmss-hash and vX.Y.Z-pre.0.yyyymmddhhmmss-hash
    ("v1.7.7-0.20250905210349-2017f33b26e1", {"time": "2025-09-05T21:03:49Z", "commit": "2017f33b26e1"}),
    ("v2.0.0-rc.1.0.20240101000000-abcdefabcdef+incompatible",
     {"time": "2024-01-01T00:00:00Z", "commit": "abcdefabcdef"}),
    ("v1.2.3", {}),                                       # a release tag
    ("v1.2.3-rc.1", {}),
    ("v0.0.0-20261312000000-7aac2a2c5b7c", {}),           # month 13
    ("v0.0.0-20260212201848-7AAC2A2C5B7C", {}),           # Go writes hashes in lower case
    ("v0.0.0-20260212201848-7aac2a2c5b7", {}),            # 11 digits
    ("", {}),
    (None, {}),
])
def test_go_pseudo_version_splits_time_and_commit(version, expected):
    assert go_pseudo_version(version) == expected
