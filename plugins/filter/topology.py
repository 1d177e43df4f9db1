# -*- coding: utf-8 -*-
# Copyright: onprem.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that turn the inventory groups into bind and connect addresses.

The inventory is the topology (docs/design.md): a service binds to loopback when every peer that
needs it is the same host, and a client connects over loopback when the server is the same host.
These filters hold that rule in one place so that roles never repeat it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible.errors import AnsibleFilterError

LOOPBACK = "127.0.0.1"


def _is_ip(value):
    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        return False
    return True


def private_address(host, hostvars):
    """Address other hosts use to reach ``host`` (filter ``onprem.mlflow.private_address``).

    ``mlflow_stack_private_address`` if set, else ``ansible_host`` when it is an IP address, else the
    address of the default IPv4 route from the gathered facts.
    """
    hv = hostvars[host]
    explicit = hv.get("mlflow_stack_private_address")
    if explicit:
        return str(explicit)
    ansible_host = hv.get("ansible_host")
    if ansible_host and _is_ip(ansible_host) and not ipaddress.ip_address(str(ansible_host)).is_loopback:
        return str(ansible_host)
    default_ipv4 = hv.get("ansible_default_ipv4") or {}
    address = default_ipv4.get("address") if hasattr(default_ipv4, "get") else None
    if address:
        return str(address)
    raise AnsibleFilterError(
        "cannot tell the private address of host %r: set mlflow_stack_private_address for it, "
        "or gather its facts first" % host
    )


def _group_hosts(groups, group):
    if group not in groups:
        return []
    return list(groups[group])


def peer_address(group, groups, hostvars, me):
    """Address of the first host of ``group`` as seen from host ``me``."""
    hosts = _group_hosts(groups, group)
    if not hosts:
        raise AnsibleFilterError("inventory group %r is empty: it needs at least one host" % group)
    first = hosts[0]
    return LOOPBACK if first == me else private_address(first, hostvars)


def group_addresses(group, groups, hostvars, me):
    """Address of every host of ``group`` as seen from host ``me`` (loopback for itself)."""
    result = []
    for host in _group_hosts(groups, group):
        address = LOOPBACK if host == me else private_address(host, hostvars)
        if address not in result:
            result.append(address)
    return result


def listen_addresses(client_groups, groups, hostvars, me):
    """Addresses a service on ``me`` binds to so that the hosts of ``client_groups`` reach it."""
    if isinstance(client_groups, str):
        client_groups = [client_groups]
    remote = [h for g in client_groups for h in _group_hosts(groups, g) if h != me]
    if not remote:
        return [LOOPBACK]
    return [LOOPBACK, private_address(me, hostvars)]


def bind_address(client_groups, groups, hostvars, me):
    """The one address a service on ``me`` binds to (filter ``onprem.mlflow.bind_address``).

    Loopback when every client host of ``client_groups`` is ``me``, else the private address of ``me``
    (never 0.0.0.0: the service is not reachable from networks outside the stack).
    """
    return listen_addresses(client_groups, groups, hostvars, me)[-1]


def has_remote_clients(client_groups, groups, hostvars, me):
    """True when a host of ``client_groups`` other than ``me`` connects to a service on ``me``.

    Such a service listens on the network and, with internal TLS, serves TLS
    (filter ``onprem.mlflow.has_remote_clients``).
    """
    return len(listen_addresses(client_groups, groups, hostvars, me)) > 1


def group_private_addresses(client_groups, groups, hostvars):
    """Private address of every host of ``client_groups`` (filter ``onprem.mlflow.group_private_addresses``).

    Unlike ``group_addresses`` it never answers loopback: the result is what a firewall compares
    with the source address of packets from those hosts. Duplicates are dropped, the order kept;
    an empty or missing group adds nothing. Every address must be an IP address (a firewall rule
    must not depend on name resolution).
    """
    if isinstance(client_groups, str):
        client_groups = [client_groups]
    result = []
    for group in client_groups:
        for host in _group_hosts(groups, group):
            address = private_address(host, hostvars)
            if not _is_ip(address):
                raise AnsibleFilterError(
                    "the private address of host %r is %r, not an IP address: set mlflow_stack_private_address "
                    "for it to an IP address" % (host, address)
                )
            address = str(ipaddress.ip_address(address))
            if address not in result:
                result.append(address)
    return result


def spans_hosts(group_names, groups):
    """True when the hosts of ``group_names`` together are more than one host.

    Traffic between the services of those groups then crosses the network, so it is encrypted
    (filter ``onprem.mlflow.spans_hosts``): ``['mlflow_storage', 'mlflow_server'] | spans_hosts(groups)``.
    """
    if isinstance(group_names, str):
        group_names = [group_names]
    hosts = set()
    for group in group_names:
        hosts.update(_group_hosts(groups, group))
    return len(hosts) > 1


def unique_names(names):
    """Host names or addresses (one or a list) without IPv6 brackets and duplicates, in order."""
    if isinstance(names, str):
        names = [names]
    result = []
    for name in names:
        name = str(name).strip("[]")
        if name not in result:
            result.append(name)
    return result


def subject_alt_names(names):
    """``IP:<address>`` for IP literals, ``DNS:<name>`` otherwise (filter ``onprem.mlflow.subject_alt_names``)."""
    return [("IP:" if _is_ip(name) else "DNS:") + name for name in unique_names(names)]


class FilterModule(object):
    """onprem.mlflow topology filters."""

    def filters(self):
        return {
            "peer_address": peer_address,
            "group_addresses": group_addresses,
            "listen_addresses": listen_addresses,
            "bind_address": bind_address,
            "has_remote_clients": has_remote_clients,
            "private_address": private_address,
            "group_private_addresses": group_private_addresses,
            "spans_hosts": spans_hosts,
            "subject_alt_names": subject_alt_names,
        }
