# -*- coding: utf-8 -*-
# Copyright: onprem.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the values the roles derive from the stack model.

Each one replaces a Jinja program that roles used to repeat: IPv6 bracketing, MLflow's allowed
hosts and CORS origins, nginx upstream entries and the database connection budget.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible.errors import AnsibleFilterError

from ansible_collections.onprem.mlflow.plugins.filter.topology import unique_names


def _is_ipv6(value):
    try:
        return ipaddress.ip_address(str(value).strip("[]")).version == 6
    except ValueError:
        return False


def bracket(host):
    """``[host]`` for an IPv6 literal, ``host`` otherwise (filter ``onprem.mlflow.bracket``)."""
    host = str(host)
    if _is_ipv6(host):
        return "[%s]" % host.strip("[]")
    return host


def host_port(host, port):
    """``host:port`` with an IPv6 literal in brackets (filter ``onprem.mlflow.host_port``)."""
    return "%s:%d" % (bracket(host), _port(port))


def _port(port):
    try:
        port = int(port)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError("a port must be a number (got %r)" % (port,)) from exc
    if not 1 <= port <= 65535:
        raise AnsibleFilterError("a port must be within 1-65535 (got %r)" % (port,))
    return port


def _names(names):
    result = unique_names(names)
    if "" in result:
        raise AnsibleFilterError("a public name must not be empty")
    return result


def allowed_hosts(public_names):
    """Host header patterns MLflow accepts (``--allowed-hosts``), filter ``onprem.mlflow.allowed_hosts``.

    MLflow compares the whole Host header, port included, exactly or as an fnmatch pattern when the
    entry holds ``*`` (mlflow/server/security_utils.py); ``[`` opens a character class in fnmatch, so
    a bracketed IPv6 host is written ``[[]``.
    """
    result = []
    for name in _names(public_names):
        if _is_ipv6(name):
            result += ["[%s]" % name, "[[]%s]:*" % name]
        else:
            result += [name, "%s:*" % name]
    return result


def cors_origins(public_names):
    """Origins allowed to make state-changing calls (``--cors-allowed-origins``).

    ``https://<name>`` (browsers omit port 443) and ``https://<name>:<any port>`` for every public
    name (filter ``onprem.mlflow.cors_origins``).
    """
    return ["https://" + pattern for pattern in allowed_hosts(public_names)]


def upstream_targets(addresses, port, socket=""):
    """nginx ``server`` entries of an upstream (filter ``onprem.mlflow.upstream_targets``).

    ``unix:<socket>`` for the MLflow server on the proxy's own host (loopback) when ``socket`` is
    set, ``address:port`` (IPv6 in brackets) for the others.
    """
    if isinstance(addresses, str):
        addresses = [addresses]
    result = []
    for address in addresses:
        if str(address) == "127.0.0.1" and socket:
            result.append("unix:%s" % socket)
        else:
            result.append(host_port(address, port))
    return result


def connection_budget(servers, workers, pool_size, max_overflow, floor=100, reserve=20):
    """Connections the database must allow (filter ``onprem.mlflow.connection_budget``).

    Every uvicorn worker of every MLflow server may hold ``pool_size + max_overflow`` connections;
    ``reserve`` more are kept for administration and the schema upgrade; never below ``floor``
    (the engine's own default). ``servers`` is the number of MLflow servers (or their list).
    """
    if isinstance(servers, (list, tuple)):
        servers = len(servers)
    try:
        values = [int(v) for v in (servers, workers, pool_size, max_overflow, floor, reserve)]
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError("connection_budget takes numbers (got %r)"
                                 % ([servers, workers, pool_size, max_overflow, floor, reserve],)) from exc
    servers, workers, pool_size, max_overflow, floor, reserve = values
    return max(floor, max(servers, 1) * workers * (pool_size + max_overflow) + reserve)


class FilterModule(object):
    """onprem.mlflow filters for derived stack values."""

    def filters(self):
        return {
            "bracket": bracket,
            "host_port": host_port,
            "allowed_hosts": allowed_hosts,
            "cors_origins": cors_origins,
            "upstream_targets": upstream_targets,
            "connection_budget": connection_budget,
        }
