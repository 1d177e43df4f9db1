# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.onprem.mlflow.plugins.filter.stack import (
    FilterModule,
    allowed_hosts,
    bracket,
    connection_budget,
    cors_origins,
    host_port,
    upstream_targets,
)


def _mlflow_accepts(value, patterns):
    """MLflow's own rule (mlflow/server/security_utils.py): fnmatch when the entry holds '*', else equality."""
    return any(fnmatch.fnmatch(value, p) if "*" in p else value == p for p in patterns)


def test_every_filter_is_exported():
    assert sorted(FilterModule().filters()) == [
        "allowed_hosts",
        "bracket",
        "connection_budget",
        "cors_origins",
        "host_port",
        "upstream_targets",
    ]


@pytest.mark.parametrize(
    "host, expected",
    [
        ("10.0.0.5", "10.0.0.5"),
        ("mlflow.example", "mlflow.example"),
        ("localhost", "localhost"),
        ("fd00::5", "[fd00::5]"),
        ("[fd00::5]", "[fd00::5]"),
        ("::1", "[::1]"),
        ("[::1]", "[::1]"),
        ("::ffff:10.0.0.5", "[::ffff:10.0.0.5]"),
    ],
)
def test_bracket_only_wraps_ipv6_literals(host, expected):
    assert bracket(host) == expected


def test_bracket_leaves_non_addresses_alone():
    assert bracket("[not-an-address]") == "[not-an-address]"  # brackets are only taken off IPv6
    assert bracket(12) == "12"


@pytest.mark.parametrize(
    "host, port, expected",
    [
        ("10.0.0.12", 9000, "10.0.0.12:9000"),
        ("db.example", "5432", "db.example:5432"),
        ("fd00::12", 9000, "[fd00::12]:9000"),
        ("[fd00::12]", "9000", "[fd00::12]:9000"),
        ("127.0.0.1", 1, "127.0.0.1:1"),
        ("127.0.0.1", 65535, "127.0.0.1:65535"),
    ],
)
def test_host_port(host, port, expected):
    assert host_port(host, port) == expected


@pytest.mark.parametrize("port", [0, 65536, -1, "http", None, "", "50.5"])
def test_host_port_rejects_bad_ports(port):
    with pytest.raises(AnsibleFilterError, match="a port must be"):
        host_port("10.0.0.12", port)


def test_allowed_hosts_for_names_and_ipv4():
    assert allowed_hosts(["mlflow.example", "10.0.0.31"]) == [
        "mlflow.example",
        "mlflow.example:*",
        "10.0.0.31",
        "10.0.0.31:*",
    ]
    assert allowed_hosts("mlflow.example") == ["mlflow.example", "mlflow.example:*"]


def test_allowed_hosts_ipv6_with_and_without_brackets():
    expected = ["[fd00::5]", "[[]fd00::5]:*"]
    assert allowed_hosts(["fd00::5"]) == expected
    assert allowed_hosts(["[fd00::5]"]) == expected
    assert allowed_hosts(["fd00::5", "[fd00::5]"]) == expected  # the same name twice


def test_allowed_hosts_match_the_host_headers_mlflow_sees():
    patterns = allowed_hosts(["mlflow.example", "10.0.0.31", "fd00::5"])
    for header in ["mlflow.example", "mlflow.example:443", "10.0.0.31:8443", "[fd00::5]", "[fd00::5]:443"]:
        assert _mlflow_accepts(header, patterns), header
    for header in ["evil.example", "mlflow.example.evil", "10.0.0.310", "[fd00::6]:443", "fd00::5"]:
        assert not _mlflow_accepts(header, patterns), header


def test_allowed_hosts_keep_the_first_order_and_drop_duplicates():
    assert allowed_hosts(["b.example", "a.example", "b.example"]) == [
        "b.example",
        "b.example:*",
        "a.example",
        "a.example:*",
    ]


@pytest.mark.parametrize("names", [[""], ["mlflow.example", ""], "", ["[]"]])
def test_allowed_hosts_reject_empty_names(names):
    with pytest.raises(AnsibleFilterError, match="must not be empty"):
        allowed_hosts(names)


def test_cors_origins():
    assert cors_origins(["mlflow.example", "fd00::5", "[fd00::5]", "mlflow.example"]) == [
        "https://mlflow.example",
        "https://mlflow.example:*",
        "https://[fd00::5]",
        "https://[[]fd00::5]:*",
    ]
    assert cors_origins("10.0.0.31") == ["https://10.0.0.31", "https://10.0.0.31:*"]
    with pytest.raises(AnsibleFilterError, match="must not be empty"):
        cors_origins([""])


def test_cors_origins_match_the_origins_browsers_send():
    patterns = cors_origins(["mlflow.example", "fd00::5"])
    for origin in ["https://mlflow.example", "https://mlflow.example:8443", "https://[fd00::5]", "https://[fd00::5]:8443"]:
        assert _mlflow_accepts(origin, patterns), origin
    for origin in ["http://mlflow.example", "https://evil.example", "https://mlflow.example.evil", "https://[fd00::6]"]:
        assert not _mlflow_accepts(origin, patterns), origin


def test_upstream_targets_local_server_on_its_socket():
    assert upstream_targets(["127.0.0.1", "10.0.0.22", "fd00::23"], 5000, "/run/mlflow/mlflow.sock") == [
        "unix:/run/mlflow/mlflow.sock",
        "10.0.0.22:5000",
        "[fd00::23]:5000",
    ]


def test_upstream_targets_without_socket_use_tcp_everywhere():
    assert upstream_targets(["127.0.0.1", "app2.example", "[fd00::23]"], "5000") == [
        "127.0.0.1:5000",
        "app2.example:5000",
        "[fd00::23]:5000",
    ]
    assert upstream_targets("10.0.0.22", 5000) == ["10.0.0.22:5000"]
    assert upstream_targets([], 5000) == []


def test_upstream_targets_bad_port():
    with pytest.raises(AnsibleFilterError, match="a port must be"):
        upstream_targets(["10.0.0.22"], "http")
    with pytest.raises(AnsibleFilterError, match="within 1-65535"):
        upstream_targets(["10.0.0.22"], 70000)


def test_connection_budget_never_below_the_floor():
    assert connection_budget(1, 2, 5, 10) == 100  # 1 * 2 * 15 + 20 = 50
    assert connection_budget(["app1"], 2, 5, 10, floor=40) == 50


def test_connection_budget_counts_servers_workers_and_reserve():
    assert connection_budget(4, 2, 20, 10) == 4 * 2 * 30 + 20
    assert connection_budget(["app1", "app2", "app3"], "4", "5", "10", 0, 0) == 3 * 4 * 15
    assert connection_budget(("app1", "app2"), 2, 5, 10, floor=0, reserve=5) == 2 * 2 * 15 + 5


def test_connection_budget_counts_at_least_one_server():
    assert connection_budget([], 2, 30, 10, floor=0) == 1 * 2 * 40 + 20
    assert connection_budget(0, 2, 30, 10, floor=0) == 100


@pytest.mark.parametrize("args", [("x", 2, 5, 10), (1, None, 5, 10), (1, 2, "five", 10), (1, 2, 5, [])])
def test_connection_budget_rejects_non_numbers(args):
    with pytest.raises(AnsibleFilterError, match="connection_budget takes numbers"):
        connection_budget(*args)
