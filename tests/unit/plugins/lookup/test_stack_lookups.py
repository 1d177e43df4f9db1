# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lookups onprem.mlflow.stack and onprem.mlflow.stack_secret, loaded by Ansible's plugin loader."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat
import sys

import pytest
from ansible.errors import AnsibleLookupError
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader, lookup_loader
from ansible.template import Templar
from ansible.utils.collection_loader import AnsibleCollectionConfig
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19 renders every string

    def trust_as_template(value):
        return value


def _collection_modules():
    return dict(
        (n, m) for n, m in sys.modules.items() if n == "ansible_collections" or n.startswith("ansible_collections.")
    )


@pytest.fixture(scope="module", autouse=True)
def collection_loader(collections_dir):
    """Ansible's collection loader, as ansible-playbook installs it.

    Under ansible-test it is installed already. Under plain pytest the collection was imported as
    an ordinary package (tests/conftest.py); those modules are set aside while the loader imports
    the collection itself, and put back afterwards.
    """
    if AnsibleCollectionConfig.collection_finder is not None:
        yield
        return
    saved = _collection_modules()
    for name in saved:
        del sys.modules[name]
    init_plugin_loader([collections_dir])
    try:
        yield
    finally:
        _AnsibleCollectionFinder._remove()
        for name in _collection_modules():
            del sys.modules[name]
        sys.modules.update(saved)


def _lookup(name):
    plugin = lookup_loader.get(name, loader=DataLoader(), templar=Templar(loader=DataLoader()))
    assert plugin is not None, "lookup %s not found" % name
    return plugin


@pytest.fixture
def stack_lookup():
    return _lookup("onprem.mlflow.stack")


@pytest.fixture
def secret_lookup():
    return _lookup("onprem.mlflow.stack_secret")


@pytest.fixture
def creds(tmp_path):
    directory = tmp_path / "creds"
    return {"mlflow_stack_credentials_dir": str(directory)}, directory


# --- onprem.mlflow.stack ---------------------------------------------------------------------


def test_stack_is_the_collection_plugin(stack_lookup):
    assert stack_lookup.ansible_name == "onprem.mlflow.stack"


def test_stack_defaults_and_several_terms(stack_lookup):
    assert stack_lookup.run(["db_engine"], variables={}) == ["postgresql"]
    assert stack_lookup.run(["db_engine", "server_port", "internal_tls", "public_aliases"], variables={}) == [
        "postgresql",
        5000,
        True,
        [],
    ]
    assert stack_lookup.run([], variables={}) == []


def test_stack_without_variables_gives_the_defaults(stack_lookup):
    assert stack_lookup.run(["bucket", "workers"]) == ["mlflow", 2]


def test_stack_converts_set_values(stack_lookup):
    variables = {"mlflow_stack_server_port": "5001", "mlflow_stack_firewall": "no", "mlflow_stack_db_engine": "mysql"}
    assert stack_lookup.run(["server_port", "firewall", "db_engine"], variables=variables) == [5001, False, "mysql"]


def test_stack_renders_templated_variables(stack_lookup):
    variables = {
        "suffix": "bucket",
        "mlflow_stack_db_name": trust_as_template("{{ 'a' ~ 'b' }}"),
        "mlflow_stack_bucket": trust_as_template("{{ 'a' ~ 'b' }}-{{ suffix }}"),
        "mlflow_stack_artifacts_prefix": trust_as_template("runs/{{ suffix }}"),
        "mlflow_stack_workers": trust_as_template("{{ 1 + 2 }}"),
        "mlflow_stack_public_aliases": [trust_as_template("{{ 'alias' }}.example")],
    }
    terms = ["db_name", "bucket", "artifacts_prefix", "workers", "public_aliases"]
    assert stack_lookup.run(terms, variables=variables) == [
        "ab",
        "ab-bucket",
        "runs/bucket",
        3,
        ["alias.example"],
    ]


def test_stack_derived_values(stack_lookup, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    variables = {
        "mlflow_stack_name": trust_as_template("{{ 'pr' ~ 'od' }}"),
        "groups": {"mlflow_proxy": ["web"]},
        "hostvars": {"web": {"ansible_fqdn": "web.example"}},
        "mlflow_stack_public_aliases": ["mlflow.example", "web.example"],
    }
    assert stack_lookup.run(["credentials_dir", "public_name", "public_names"], variables=variables) == [
        str(tmp_path / ".onprem-mlflow" / "prod"),
        "web.example",
        ["web.example", "mlflow.example"],
    ]


@pytest.mark.parametrize(
    "term, variables, fragment",
    [
        ("db_engine", {"mlflow_stack_db_engine": "oracle"}, "mlflow_stack_db_engine must be one of postgresql, mysql"),
        ("server_port", {"mlflow_stack_server_port": "http"}, "mlflow_stack_server_port must be a int"),
        (
            "server_port",
            {"mlflow_stack_server_port": trust_as_template("{{ 60000 + 6000 }}")},
            "mlflow_stack_server_port must be a TCP port (1-65535) (got 66000)",
        ),
        ("bucket", {"mlflow_stack_bucket": "Bad_Bucket"}, "mlflow_stack_bucket must be a valid S3 bucket name"),
        ("public_name", {"groups": {"mlflow_proxy": ["web"]}, "hostvars": {}}, "set mlflow_stack_public_name"),
        ("db_host", {}, "unknown stack value 'db_host'"),
    ],
)
def test_stack_errors_are_lookup_errors_naming_the_variable(stack_lookup, term, variables, fragment):
    with pytest.raises(AnsibleLookupError) as info:
        stack_lookup.run([term], variables=variables)
    assert fragment in str(info.value)


# --- onprem.mlflow.stack_secret --------------------------------------------------------------


def test_secret_is_the_collection_plugin(secret_lookup):
    assert secret_lookup.ansible_name == "onprem.mlflow.stack_secret"


def test_secret_set_in_its_variable_wins(secret_lookup, creds):
    variables, directory = creds
    variables["vault_db_password"] = "from-vault"
    variables["mlflow_stack_db_password"] = trust_as_template("{{ vault_db_password }}")
    assert secret_lookup.run(["db_password"], variables=variables) == ["from-vault"]
    assert not directory.exists()


def test_secret_generated_once_and_read_again(secret_lookup, creds):
    variables, directory = creds
    first = secret_lookup.run(["db_password", "crypto_kek_passphrase", "htpasswd_alice"], variables=variables)
    assert [len(v) for v in first] == [32, 48, 32]
    assert sorted(os.listdir(directory)) == ["db_password", "htpasswd_alice", "mlflow_kek_passphrase"]
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(directory / "db_password").st_mode) == 0o600
    assert (directory / "db_password").read_text() == first[0] + "\n"
    again = _lookup("onprem.mlflow.stack_secret").run(
        ["db_password", "crypto_kek_passphrase", "htpasswd_alice"], variables=variables
    )
    assert again == first


def test_secret_credentials_dir_is_templated(secret_lookup, tmp_path):
    variables = {
        "base": str(tmp_path),
        "mlflow_stack_credentials_dir": trust_as_template("{{ base }}/stack"),
    }
    generated = secret_lookup.run(["s3_secret_key"], variables=variables)[0]
    assert (tmp_path / "stack" / "s3_secret_key").read_text() == generated + "\n"


def test_secret_reads_password_lookup_files(secret_lookup, creds):
    variables, directory = creds
    directory.mkdir()
    (directory / "minio_root_password").write_text("abc salt=xyz\n")
    assert secret_lookup.run(["minio_root_password"], variables=variables) == ["abc"]


@pytest.mark.parametrize(
    "term, fragment",
    [
        ("db_password", "set mlflow_stack_db_password or turn generation on"),
        ("htpasswd_alice", "the password of user 'alice' in mlflow_stack_users"),
    ],
)
def test_secret_missing_with_generation_off_is_a_lookup_error(secret_lookup, creds, term, fragment):
    variables, directory = creds
    variables["mlflow_stack_generate_secrets"] = trust_as_template("{{ 'false' }}")
    with pytest.raises(AnsibleLookupError) as info:
        secret_lookup.run([term], variables=variables)
    assert fragment in str(info.value)
    assert "mlflow_stack_generate_secrets" in str(info.value)
    assert not directory.exists()


def test_secret_unknown_term_is_a_lookup_error(secret_lookup, creds):
    variables = creds[0]
    with pytest.raises(AnsibleLookupError, match="unknown stack secret 'db_host'"):
        secret_lookup.run(["db_host"], variables=variables)


def test_secret_unwritable_directory_is_a_lookup_error(secret_lookup, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory\n")
    with pytest.raises(AnsibleLookupError):
        secret_lookup.run(["db_password"], variables={"mlflow_stack_credentials_dir": str(blocker / "creds")})
