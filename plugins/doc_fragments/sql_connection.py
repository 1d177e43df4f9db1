# -*- coding: utf-8 -*-
# Copyright: onprem.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Login options of the modules that talk to PostgreSQL or MySQL/MariaDB."""

    DOCUMENTATION = r'''
options:
  login_host:
    description:
      - Host name or IP address of the database server.
      - When neither O(login_host) nor O(login_unix_socket) is set, the driver default is used
        (PostgreSQL - the default Unix socket directory; MySQL - C(localhost) through the default socket).
    type: str
  login_port:
    description:
      - TCP port of the database server.
      - Defaults to C(5432) for PostgreSQL and C(3306) for MySQL/MariaDB.
    type: int
  login_user:
    description:
      - User to log in as.
      - Defaults to C(postgres) for PostgreSQL and C(root) for MySQL/MariaDB.
      - "PostgreSQL: must be a superuser (or have C(CREATEDB) and C(CREATEROLE) and read access to C(pg_authid))
        for password verification to work."
    type: str
  login_password:
    description:
      - Password of O(login_user). Not needed for peer or unix_socket authentication.
    type: str
  login_unix_socket:
    description:
      - "PostgreSQL: directory of the Unix socket (for example C(/run/postgresql))."
      - "MySQL/MariaDB: path of the Unix socket file (for example C(/run/mysqld/mysqld.sock))."
      - Takes precedence over O(login_host).
    type: str
  connect_timeout:
    description:
      - Seconds to wait for the connection to the server.
    type: int
    default: 10
requirements:
  - psycopg2 (for O(engine=postgresql)) on the host that runs the module.
  - PyMySQL (for O(engine=mysql)) on the host that runs the module.
'''
