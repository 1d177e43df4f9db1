# -*- coding: utf-8 -*-
# Copyright: onprem.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The stack model: every ``mlflow_stack_*`` value, its default and its rules, written once.

Roles read stack values through the lookups ``onprem.mlflow.stack`` and ``onprem.mlflow.stack_secret``
(which call :func:`value` and :func:`secret`), so a role installed alone from Galaxy knows the same
defaults as the whole stack. ``tests/scripts/gen_role_docs.py`` renders :data:`VALUES` as the
stack-variable table of ``docs/roles.md``.

Controller side only (lookups and filters run on the controller); no Ansible import here, so the
unit tests use it directly.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import re
import secrets as _secrets
import string
import tempfile

PREFIX = "mlflow_stack_"

# The inventory groups of the stack (docs/design.md); playbooks/site.yml targets them by name.
DB_GROUP = "mlflow_db"
STORAGE_GROUP = "mlflow_storage"
SERVER_GROUP = "mlflow_server"
PROXY_GROUP = "mlflow_proxy"


class StackError(ValueError):
    """A stack value breaks its rule; the message names the variable to fix."""


def _bucket(value):
    return bool(re.match(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", value)) and ".." not in value


def _prefix(value):
    return not value.startswith("/") and not value.endswith("/") and " " not in value


def _users(value):
    if not value:
        return False
    names = [u.get("name") if isinstance(u, dict) else None for u in value]
    if any(not isinstance(n, str) or not re.match(r"^[^:\s]+$", n) for n in names):
        return False
    return len(set(names)) == len(names)


class _Entry(object):
    """A named entry of the model: variable ``mlflow_stack_<key>``."""

    def __init__(self, key, description):
        self.key = key
        self.description = description

    @property
    def variable(self):
        return PREFIX + self.key


class Value(_Entry):
    """One stack value: ``mlflow_stack_<key>``."""

    def __init__(self, key, default, kind, description, choices=None, rule=None, rule_text=None,
                 empty_is_default=False):
        super().__init__(key, description)
        self.default = default
        self.kind = kind
        self.choices = choices
        self.rule = rule
        self.rule_text = rule_text
        self.empty_is_default = empty_is_default


class Secret(_Entry):
    """A secret of the stack: ``mlflow_stack_<key>`` or generated once into ``<credentials_dir>/<file>``."""

    def __init__(self, key, file_name, length, description, min_length=1):
        super().__init__(key, description)
        self.file_name = file_name
        self.length = length
        self.min_length = min_length


_PORT = (lambda v: 1 <= v <= 65535, "a TCP port (1-65535)")

# Every stack value a role reads, with its one default. Descriptions feed docs/roles.md.
VALUES = [
    Value("name", "mlflow", "str", "Name of the stack; the default credentials directory is "
          "~/.onprem-mlflow/<name> on the controller.", rule=lambda v: bool(re.match(r"^[A-Za-z0-9_.-]+$", v)),
          rule_text="letters, digits, '.', '_' and '-'"),
    Value("credentials_dir", "", "path", "Controller directory (0700) of the stack's CA and generated "
          "secrets (files 0600). Empty: ~/.onprem-mlflow/<mlflow_stack_name>.", empty_is_default=True),
    Value("generate_secrets", True, "bool", "Generate secrets left empty into the credentials directory "
          "once, and read them from there on later runs. Off: every secret must be set."),
    Value("db_engine", "postgresql", "str", "Database engine: postgresql, or mysql (MariaDB from Debian by "
          "default).",
          choices=["postgresql", "mysql"]),
    Value("db_name", "mlflow", "str", "Name of MLflow's database.",
          rule=lambda v: bool(re.match(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$", v)), rule_text="an SQL identifier"),
    Value("db_user", "mlflow", "str", "Database user owning MLflow's database.",
          rule=lambda v: bool(re.match(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$", v)),
          rule_text="an SQL identifier of at most 32 characters"),
    Value("db_pool_size", 5, "int", "SQLAlchemy pool size per MLflow worker; the database's "
          "max_connections is sized from it and the overflow.", rule=lambda v: v >= 1,
          rule_text="at least 1"),
    Value("db_pool_max_overflow", 10, "int", "SQLAlchemy connections allowed above the pool size per worker.",
          rule=lambda v: v >= 0, rule_text="at least 0"),
    Value("db_wait_timeout", 28800, "int", "Seconds the database keeps an idle connection (MySQL "
          "wait_timeout); MLflow recycles pooled connections before.", rule=lambda v: v >= 120,
          rule_text="at least 120"),
    Value("bucket", "mlflow", "str", "MinIO bucket of the artifacts: s3://<bucket>/<prefix>.", rule=_bucket,
          rule_text="a valid S3 bucket name"),
    Value("artifacts_prefix", "artifacts", "str", "Key prefix of the artifacts inside the bucket.", rule=_prefix,
          rule_text="a key prefix without leading or trailing '/' or spaces"),
    Value("s3_access_key", "mlflow", "str", "Access key of MLflow's own MinIO user (its policy allows the "
          "artifact prefix only).", rule=lambda v: len(v) >= 3, rule_text="at least 3 characters",
          empty_is_default=True),
    Value("server_port", 5000, "int", "TCP port of the MLflow servers (when they listen on TCP).",
          rule=_PORT[0], rule_text=_PORT[1]),
    Value("workers", 2, "int", "uvicorn workers per MLflow server.", rule=lambda v: v >= 1,
          rule_text="at least 1"),
    Value("internal_tls", True, "bool", "Encrypt every hop between two hosts (nginx to MLflow, MLflow to "
          "MinIO and to the database) with certificates of the stack's CA, verified by the client."),
    Value("job_execution", False, "bool", "MLflow's job runner (GenAI jobs: LLM-judge scorers, evaluation and "
          "prompt-optimization jobs, trace rollups; about 1.5 GB of RAM per server). Needs MLflow on TCP without "
          "TLS (mlflow_stack_internal_tls false in a multi-host stack); periodic tasks run on the first server."),
    Value("firewall", True, "bool", "nftables allow-lists for the database, MinIO and MLflow ports (README, "
          "Exposure); false for sites with their own firewall."),
    Value("extra_ca_certs", [], "list", "PEM files (controller paths) every host must trust, e.g. the "
          "root CA of a TLS-inspecting proxy, without which pip cannot reach the package index."),
    Value("public_name", "", "str", "The name users type; in the proxy's certificate and "
          "server_name. Empty: the FQDN of the first mlflow_proxy host.", empty_is_default=True),
    Value("public_aliases", [], "list", "More names or IP addresses users type (certificate SANs, "
          "server_name, MLflow's --allowed-hosts)."),
    Value("users", [{"name": "mlflow", "password": ""}], "list", "Basic-auth users at nginx, "
          "{name, password} (bcrypt in the htpasswd file); an empty password is generated into "
          "htpasswd_<name>.", rule=_users,
          rule_text="a non-empty list of {name, password} with distinct names without ':' or blanks"),
    Value("private_address", "", "str", "Per host: the address other hosts of the stack use to reach it. "
          "Empty: ansible_host when it is an IP address, else the default IPv4 address.",
          empty_is_default=True),
]
VALUES_BY_KEY = dict((v.key, v) for v in VALUES)

# Every secret of the stack. Files keep the names earlier releases used.
SECRETS = [
    Secret("db_password", "db_password", 32, "Password of the database user."),
    Secret("s3_secret_key", "s3_secret_key", 32, "Secret key of MLflow's MinIO user.", min_length=8),
    Secret("minio_root_user", "minio_root_user", 32, "MinIO's root user (stays on the storage hosts).", min_length=3),
    Secret("minio_root_password", "minio_root_password", 32, "MinIO's root password.", min_length=8),
    Secret("crypto_kek_passphrase", "mlflow_kek_passphrase", 48, "Passphrase encrypting the secrets "
           "MLflow stores; the same on every server."),
]
SECRETS_BY_KEY = dict((s.key, s) for s in SECRETS)
# Basic-auth passwords: htpasswd_<user>, set in mlflow_stack_users.
HTPASSWD = re.compile(r"^htpasswd_([^:\s/]+)$")
SECRET_CHARS = string.ascii_letters + string.digits

_BOOL_TRUE = ("yes", "on", "1", "true", "y", "t")
_BOOL_FALSE = ("no", "off", "0", "false", "n", "f", "")


def _convert(spec, raw):
    """``raw`` as the value's kind, or StackError naming the variable."""
    name = spec.variable
    try:
        if spec.kind == "bool":
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in _BOOL_TRUE:
                return True
            if text in _BOOL_FALSE:
                return False
            raise ValueError(raw)
        if spec.kind == "int":
            if isinstance(raw, bool):
                raise ValueError(raw)
            return int(str(raw).strip())
        if spec.kind == "list":
            if isinstance(raw, (list, tuple)):
                return list(raw)
            raise ValueError(raw)
        if raw is None:
            return ""
        if isinstance(raw, (list, tuple, dict)):
            raise ValueError(raw)
        return str(raw)
    except (TypeError, ValueError) as exc:
        raise StackError("%s must be a %s (got %r)" % (name, spec.kind, raw)) from exc


def check(spec, result):
    """Apply the value's choices and rule; StackError names the variable."""
    if spec.choices and result not in spec.choices:
        raise StackError("%s must be one of %s (got %r)" % (spec.variable, ", ".join(spec.choices), result))
    if spec.rule and not (spec.empty_is_default and result == "") and not spec.rule(result):
        raise StackError("%s must be %s (got %r)" % (spec.variable, spec.rule_text, result))
    return result


def value(key, variables, template=None):
    """The stack value ``key`` for a host whose variables are ``variables``.

    ``template`` renders a raw variable (Jinja in inventories); derived values (credentials_dir,
    public_name) are computed here, so callers never repeat their defaults.
    """
    if key == "public_names":
        names = [value("public_name", variables, template)] + value("public_aliases", variables, template)
        result = []
        for name in names:
            name = str(name)
            if name not in result:
                result.append(name)
        return result
    if key in SECRETS_BY_KEY:
        return configured_secret(key, variables, template)
    if key not in VALUES_BY_KEY:
        known = ", ".join(sorted(VALUES_BY_KEY) + ["public_names"])
        raise StackError("unknown stack value %r; known: %s" % (key, known))
    spec = VALUES_BY_KEY[key]
    raw = variables.get(spec.variable, spec.default)
    if template is not None and raw is not spec.default:
        raw = template(raw)
    if raw is None or (spec.empty_is_default and raw == ""):
        raw = spec.default
    result = check(spec, _convert(spec, raw))
    if key == "credentials_dir":
        if not result:
            result = "~/.onprem-mlflow/" + value("name", variables, template)
        return os.path.expanduser(result)
    if key == "public_name" and not result:
        return _first_proxy_fqdn(variables)
    if key == "users":
        for user in result:
            if not user.get("password"):
                _available("htpasswd_%s" % user["name"], variables, template)
    return result


def configured_secret(key, variables, template=None):
    """The secret ``key`` as configured (``mlflow_stack_<key>``), or '' when it is to be generated.

    Never writes: role defaults and the preflight read secrets this way, so a run that stops in the
    preflight generates nothing. With generation off, a secret neither set nor stored is an error.
    """
    variable, file_name, length = secret_spec(key)
    explicit = variables.get(variable, "") if variable else ""
    if template is not None:
        explicit = template(explicit)
    if explicit:
        explicit = str(explicit)
        minimum = SECRETS_BY_KEY[key].min_length
        if len(explicit) < minimum:
            raise StackError("%s must be at least %d characters" % (variable, minimum))
        return explicit
    _available(key, variables, template)
    return ""


def _available(key, variables, template):
    """StackError when ``key`` would have to be generated but generation is off."""
    variable, file_name, length = secret_spec(key)
    path = os.path.join(value("credentials_dir", variables, template), file_name)
    if value("generate_secrets", variables, template) or os.path.exists(path):
        return
    if variable is None:
        what = "the password of user %r in mlflow_stack_users (nginx_users)" % HTPASSWD.match(key).group(1)
    else:
        what = variable
    raise StackError(
        "%s is empty, %s does not exist and secret generation is off (mlflow_stack_generate_secrets): "
        "set %s or turn generation on" % (what, path, what)
    )


def _first_proxy_fqdn(variables):
    groups = variables.get("groups") or {}
    hostvars = variables.get("hostvars") or {}
    proxies = list(groups.get(PROXY_GROUP) or [])
    host = proxies[0] if proxies else variables.get("inventory_hostname")
    facts = hostvars.get(host, {}) if host in hostvars else {}
    fqdn = facts.get("ansible_fqdn") or (facts.get("ansible_facts") or {}).get("fqdn")
    if not fqdn and host == variables.get("inventory_hostname"):
        fqdn = variables.get("ansible_fqdn")
    if not fqdn:
        raise StackError(
            "cannot tell the public name: set mlflow_stack_public_name, or gather the facts of %r first" % host
        )
    return str(fqdn)


def secret_spec(key):
    """(variable or None, file name, length) of the secret ``key``."""
    if key in SECRETS_BY_KEY:
        spec = SECRETS_BY_KEY[key]
        return spec.variable, spec.file_name, spec.length
    if HTPASSWD.match(key):
        return None, key, 32
    raise StackError("unknown stack secret %r; known: %s, htpasswd_<user>" % (key, ", ".join(sorted(SECRETS_BY_KEY))))


def read_secret_file(path):
    """The secret stored in ``path`` (files of ansible.builtin.password keep working), or None."""
    try:
        with open(path) as handle:
            content = handle.read()
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise
    first = content.splitlines()[0] if content else ""
    if " salt=" in first:
        first = first.split(" salt=", 1)[0]
    return first or None


def write_secret_file(path, secret_value):
    """Create ``path`` (0600, its directory 0700) holding ``secret_value``; never overwrite.

    The file appears whole (written to a temporary file, then linked to ``path``), so a fork of another
    host never reads it empty; OSError EEXIST when ``path`` exists already.
    """
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".")  # mode 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secret_value + "\n")
        os.link(temporary, path)
    finally:
        os.unlink(temporary)


def generate(length):
    return "".join(_secrets.choice(SECRET_CHARS) for _index in range(length))


def secret(key, variables, template=None, explicit=None):
    """The secret ``key``: set (``explicit``, else ``mlflow_stack_<key>``) or read/generated once.

    The file lives in the stack's credentials directory; with generation off a missing secret is an
    error that names the variable to set.
    """
    variable, file_name, length = secret_spec(key)
    if explicit is None and variable is not None:
        explicit = variables.get(variable, "")
        if template is not None:
            explicit = template(explicit)
    if explicit:
        return str(explicit)
    path = os.path.join(value("credentials_dir", variables, template), file_name)
    stored = read_secret_file(path)
    if stored is not None:
        return stored
    _available(key, variables, template)
    try:
        write_secret_file(path, generate(length))
    except OSError as exc:
        if exc.errno != errno.EEXIST:  # another host's fork wrote it first
            raise
    stored = read_secret_file(path)
    if stored is None:
        raise StackError("%s is empty: write the secret into it, or remove it to generate a new one" % path)
    return stored
