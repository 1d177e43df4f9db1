# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.onprem.mlflow.plugins.filter.topology import (
    FilterModule,
    bind_address,
    group_addresses,
    group_private_addresses,
    has_remote_clients,
    listen_addresses,
    peer_address,
    private_address,
    spans_hosts,
    subject_alt_names,
)

HOSTVARS = {
    "db1": {"ansible_default_ipv4": {"address": "10.0.0.11"}},
    "s3": {"ansible_host": "10.0.0.12"},
    "app1": {"mlflow_stack_private_address": "10.0.0.21", "ansible_host": "app1.example"},
    "app2": {"ansible_host": "127.0.0.1", "ansible_default_ipv4": {"address": "10.0.0.22"}},
    "web": {"ansible_default_ipv4": {"address": "10.0.0.31"}},
    "bare": {},
}
SPLIT = {
    "mlflow_db": ["db1"],
    "mlflow_storage": ["s3"],
    "mlflow_server": ["app1", "app2"],
    "mlflow_proxy": ["web"],
}
ALL_IN_ONE = {g: ["db1"] for g in SPLIT}


def test_peer_on_same_host_is_loopback():
    assert peer_address("mlflow_db", ALL_IN_ONE, HOSTVARS, "db1") == "127.0.0.1"


def test_peer_on_other_host_uses_its_private_address():
    assert peer_address("mlflow_db", SPLIT, HOSTVARS, "app1") == "10.0.0.11"
    assert peer_address("mlflow_storage", SPLIT, HOSTVARS, "app1") == "10.0.0.12"


def test_explicit_private_address_wins_and_loopback_ansible_host_is_ignored():
    assert group_addresses("mlflow_server", SPLIT, HOSTVARS, "web") == ["10.0.0.21", "10.0.0.22"]


def test_group_addresses_uses_loopback_for_itself():
    assert group_addresses("mlflow_server", SPLIT, HOSTVARS, "app1") == ["127.0.0.1", "10.0.0.22"]


def test_listen_loopback_only_when_all_clients_are_local():
    assert listen_addresses(["mlflow_server"], ALL_IN_ONE, HOSTVARS, "db1") == ["127.0.0.1"]
    assert listen_addresses("mlflow_server", {"mlflow_server": []}, HOSTVARS, "db1") == ["127.0.0.1"]


def test_listen_adds_private_address_for_remote_clients():
    assert listen_addresses(["mlflow_server"], SPLIT, HOSTVARS, "db1") == ["127.0.0.1", "10.0.0.11"]


def test_empty_group_and_unknown_address_are_clear_errors():
    with pytest.raises(AnsibleFilterError, match="group 'mlflow_db' is empty"):
        peer_address("mlflow_db", {}, HOSTVARS, "db1")
    with pytest.raises(AnsibleFilterError, match="mlflow_stack_private_address"):
        peer_address("mlflow_db", {"mlflow_db": ["bare"]}, HOSTVARS, "web")


def test_group_private_addresses_never_answers_loopback_and_drops_duplicates():
    assert group_private_addresses(["mlflow_server", "mlflow_proxy"], SPLIT, HOSTVARS) == [
        "10.0.0.21",
        "10.0.0.22",
        "10.0.0.31",
    ]
    assert group_private_addresses(["mlflow_server", "mlflow_db"], ALL_IN_ONE, HOSTVARS) == ["10.0.0.11"]


def test_group_private_addresses_accepts_one_group_name_and_empty_or_missing_groups():
    assert group_private_addresses("mlflow_storage", SPLIT, HOSTVARS) == ["10.0.0.12"]
    assert group_private_addresses(["mlflow_proxy"], {"mlflow_proxy": []}, HOSTVARS) == []
    assert group_private_addresses(["absent"], SPLIT, HOSTVARS) == []


def test_group_private_addresses_normalises_ipv6_and_rejects_names():
    hostvars = {
        "v6": {"mlflow_stack_private_address": "fd00:0:0::0011"},
        "named": {"mlflow_stack_private_address": "db.lan"},
    }
    assert group_private_addresses("g", {"g": ["v6"]}, hostvars) == ["fd00::11"]
    with pytest.raises(AnsibleFilterError, match="'db.lan', not an IP address"):
        group_private_addresses("g", {"g": ["named"]}, hostvars)
    with pytest.raises(AnsibleFilterError, match="mlflow_stack_private_address"):
        group_private_addresses("g", {"g": ["bare"]}, HOSTVARS)


def test_private_address_prefers_the_explicit_variable_then_an_ip_ansible_host_then_facts():
    assert private_address("app1", HOSTVARS) == "10.0.0.21"
    assert private_address("s3", HOSTVARS) == "10.0.0.12"
    assert private_address("app2", HOSTVARS) == "10.0.0.22"  # loopback ansible_host is skipped
    with pytest.raises(AnsibleFilterError, match="bare"):
        private_address("bare", HOSTVARS)


def test_spans_hosts_is_false_only_when_the_groups_share_one_host():
    aio = {g: ["h"] for g in SPLIT}
    assert spans_hosts(["mlflow_storage", "mlflow_server"], aio) is False
    assert spans_hosts("mlflow_server", aio) is False
    assert spans_hosts(["mlflow_storage", "mlflow_server"], SPLIT) is True
    assert spans_hosts(["mlflow_db"], SPLIT) is False
    assert spans_hosts(["mlflow_proxy", "mlflow_server"], dict(aio, mlflow_server=["h", "h2"])) is True
    assert spans_hosts(["missing"], SPLIT) is False


def test_subject_alt_names_tell_ip_literals_from_names():
    assert subject_alt_names(["10.0.0.5", "mlflow.example", "::1", "[fd00::5]", "10.0.0.5", "a-1"]) == [
        "IP:10.0.0.5",
        "DNS:mlflow.example",
        "IP:::1",
        "IP:fd00::5",
        "DNS:a-1",
    ]
    assert subject_alt_names("10.1.2.3") == ["IP:10.1.2.3"]


def test_every_filter_is_exported():
    assert sorted(FilterModule().filters()) == [
        "bind_address",
        "group_addresses",
        "group_private_addresses",
        "has_remote_clients",
        "listen_addresses",
        "peer_address",
        "private_address",
        "spans_hosts",
        "subject_alt_names",
    ]


def test_bind_address_is_loopback_when_every_client_is_this_host():
    assert bind_address(["mlflow_proxy"], ALL_IN_ONE, HOSTVARS, "db1") == "127.0.0.1"
    assert bind_address("mlflow_proxy", ALL_IN_ONE, HOSTVARS, "db1") == "127.0.0.1"
    assert bind_address(["mlflow_proxy"], {"mlflow_proxy": []}, HOSTVARS, "db1") == "127.0.0.1"
    assert bind_address(["absent"], SPLIT, HOSTVARS, "db1") == "127.0.0.1"


def test_bind_address_is_the_private_address_for_remote_clients():
    assert bind_address(["mlflow_server"], SPLIT, HOSTVARS, "db1") == "10.0.0.11"
    assert bind_address(["mlflow_proxy"], SPLIT, HOSTVARS, "app1") == "10.0.0.21"  # explicit variable
    assert bind_address(["mlflow_proxy"], SPLIT, HOSTVARS, "app2") == "10.0.0.22"  # not its loopback ansible_host
    # one client on the host itself and one elsewhere: the network address, never 0.0.0.0
    mixed = {"mlflow_proxy": ["web", "s3"]}
    assert bind_address("mlflow_proxy", mixed, HOSTVARS, "s3") == "10.0.0.12"


def test_bind_address_is_the_last_of_listen_addresses():
    for groups, me in [(SPLIT, "db1"), (ALL_IN_ONE, "db1"), (SPLIT, "web"), (SPLIT, "s3")]:
        expected = listen_addresses(["mlflow_server"], groups, HOSTVARS, me)[-1]
        assert bind_address(["mlflow_server"], groups, HOSTVARS, me) == expected


def test_bind_address_for_remote_clients_needs_the_private_address():
    with pytest.raises(AnsibleFilterError, match="'bare'.*mlflow_stack_private_address"):
        bind_address(["mlflow_server"], dict(SPLIT, mlflow_db=["bare"]), HOSTVARS, "bare")


def test_has_remote_clients():
    assert has_remote_clients(["mlflow_server"], SPLIT, HOSTVARS, "db1") is True
    assert has_remote_clients("mlflow_proxy", SPLIT, HOSTVARS, "app1") is True
    assert has_remote_clients(["mlflow_server", "mlflow_proxy"], ALL_IN_ONE, HOSTVARS, "db1") is False
    assert has_remote_clients(["mlflow_proxy"], {"mlflow_proxy": []}, HOSTVARS, "web") is False
    assert has_remote_clients(["absent"], SPLIT, HOSTVARS, "web") is False
    # the proxy itself is one of the servers, the other server is remote
    assert has_remote_clients(["mlflow_server"], SPLIT, HOSTVARS, "app1") is True
    assert has_remote_clients(["mlflow_server"], {"mlflow_server": ["app1"]}, HOSTVARS, "app1") is False


def test_has_remote_clients_needs_the_private_address_only_for_remote_clients():
    assert has_remote_clients(["g"], {"g": ["bare"]}, HOSTVARS, "bare") is False
    with pytest.raises(AnsibleFilterError, match="mlflow_stack_private_address"):
        has_remote_clients(["g"], {"g": ["web"]}, HOSTVARS, "bare")
