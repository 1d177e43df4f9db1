# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The stack model (plugins/plugin_utils/stack.py), called directly.

(Not named test_stack.py: tests/unit/plugins/filter/test_stack.py has that basename, and the unit
test directories are not packages.)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.onprem.mlflow.plugins.plugin_utils import stack

PROXY_FACTS = {
    "groups": {"mlflow_proxy": ["web1", "web2"], "mlflow_server": ["app1"]},
    "hostvars": {
        "web1": {"ansible_fqdn": "web1.example"},
        "web2": {"ansible_fqdn": "web2.example"},
        "app1": {"ansible_fqdn": "app1.example"},
    },
    "inventory_hostname": "app1",
}


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def creds(tmp_path):
    """Variables with a credentials directory (not created yet) under tmp_path."""
    directory = tmp_path / "creds"
    return {"mlflow_stack_credentials_dir": str(directory)}, directory


# --- value() ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key, expected",
    [
        ("name", "mlflow"),
        ("generate_secrets", True),
        ("db_engine", "postgresql"),
        ("db_name", "mlflow"),
        ("db_user", "mlflow"),
        ("db_pool_size", 5),
        ("db_pool_max_overflow", 10),
        ("db_wait_timeout", 28800),
        ("bucket", "mlflow"),
        ("artifacts_prefix", "artifacts"),
        ("s3_access_key", "mlflow"),
        ("server_port", 5000),
        ("workers", 2),
        ("internal_tls", True),
        ("job_execution", False),
        ("firewall", True),
        ("extra_ca_certs", []),
        ("public_aliases", []),
        ("users", [{"name": "mlflow", "password": ""}]),
        ("private_address", ""),
    ],
)
def test_value_defaults(key, expected):
    assert stack.value(key, {}) == expected


def test_every_value_has_its_documented_default_and_a_valid_one():
    for spec in stack.VALUES:
        assert spec.variable == "mlflow_stack_" + spec.key
        assert spec.description
        if spec.key not in ("credentials_dir", "public_name"):  # derived from other values
            assert stack.value(spec.key, {}) == spec.default


def test_a_list_default_is_not_shared_with_the_caller():
    first = stack.value("public_aliases", {})
    first.append("changed.example")
    assert stack.value("public_aliases", {}) == []


@pytest.mark.parametrize(
    "key, raw, expected",
    [
        ("server_port", "3", 3),
        ("workers", " 4 ", 4),
        ("db_pool_max_overflow", 0, 0),
        ("generate_secrets", "yes", True),
        ("generate_secrets", "no", False),
        ("internal_tls", "False", False),
        ("firewall", "on", True),
        ("job_execution", "1", True),
        ("job_execution", True, True),
        ("job_execution", "", False),
        ("name", 42, "42"),
        ("public_aliases", ("a.example", "10.0.0.5"), ["a.example", "10.0.0.5"]),
        ("db_engine", "mysql", "mysql"),
    ],
)
def test_value_converts_to_its_kind(key, raw, expected):
    assert stack.value(key, {"mlflow_stack_" + key: raw}) == expected


@pytest.mark.parametrize(
    "key, raw",
    [
        ("server_port", "http"),
        ("workers", True),
        ("workers", "2.5"),
        ("generate_secrets", "maybe"),
        ("public_aliases", "a.example"),
        ("bucket", ["mlflow"]),
    ],
)
def test_value_of_the_wrong_kind_names_the_variable(key, raw):
    with pytest.raises(stack.StackError, match="^mlflow_stack_%s must be a " % key):
        stack.value(key, {"mlflow_stack_" + key: raw})


def test_choices_error_names_the_variable_and_the_choices():
    expected = r"^mlflow_stack_db_engine must be one of postgresql, mysql \(got 'oracle'\)$"
    with pytest.raises(stack.StackError, match=expected):
        stack.value("db_engine", {"mlflow_stack_db_engine": "oracle"})


@pytest.mark.parametrize(
    "key, raw, rule",
    [
        ("server_port", 0, "a TCP port"),
        ("server_port", "70000", "a TCP port"),
        ("workers", 0, "at least 1"),
        ("db_pool_size", 0, "at least 1"),
        ("db_pool_max_overflow", -1, "at least 0"),
        ("db_wait_timeout", 60, "at least 120"),
        ("name", "my stack", "letters, digits"),
        ("db_name", "1db", "an SQL identifier"),
        ("db_user", "u" * 33, "at most 32 characters"),
        ("bucket", "My_Bucket", "a valid S3 bucket name"),
        ("bucket", "a..b", "a valid S3 bucket name"),
        ("artifacts_prefix", "/artifacts", "a key prefix"),
        ("artifacts_prefix", "artifacts/", "a key prefix"),
        ("s3_access_key", "ab", "at least 3 characters"),
        ("users", [], "a non-empty list"),
        ("users", [{"name": "a:b", "password": ""}], "a non-empty list"),
        ("users", [{"name": "alice"}, {"name": "alice"}], "distinct names"),
        ("users", ["alice"], "a non-empty list"),
    ],
)
def test_rule_error_names_the_variable(key, raw, rule):
    with pytest.raises(stack.StackError) as info:
        stack.value(key, {"mlflow_stack_" + key: raw})
    message = str(info.value)
    assert message.startswith("mlflow_stack_%s must be " % key)
    assert rule in message


def test_empty_means_default_where_the_value_says_so():
    assert stack.value("s3_access_key", {"mlflow_stack_s3_access_key": ""}) == "mlflow"
    assert stack.value("s3_access_key", {"mlflow_stack_s3_access_key": None}) == "mlflow"
    assert stack.value("server_port", {"mlflow_stack_server_port": None}) == 5000
    with pytest.raises(stack.StackError, match="mlflow_stack_name must be"):
        stack.value("name", {"mlflow_stack_name": ""})


def test_unknown_value_is_an_error_listing_the_known_ones():
    with pytest.raises(stack.StackError, match="unknown stack value 'db_host'.*db_engine.*public_names"):
        stack.value("db_host", {})


def test_template_renders_set_values_only():
    seen = []

    def template(raw):
        seen.append(raw)
        return raw.replace("{{ engine }}", "mysql") if isinstance(raw, str) else raw

    assert stack.value("db_engine", {"mlflow_stack_db_engine": "{{ engine }}"}, template) == "mysql"
    assert stack.value("bucket", {}, template) == "mlflow"
    assert seen == ["{{ engine }}"]


def test_credentials_dir_default_follows_the_stack_name(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert stack.value("credentials_dir", {}) == str(tmp_path / ".onprem-mlflow" / "mlflow")
    assert stack.value("credentials_dir", {"mlflow_stack_name": "prod"}) == str(tmp_path / ".onprem-mlflow" / "prod")
    assert stack.value("credentials_dir", {"mlflow_stack_credentials_dir": ""}) == str(
        tmp_path / ".onprem-mlflow" / "mlflow"
    )


def test_credentials_dir_is_expanded(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert stack.value("credentials_dir", {"mlflow_stack_credentials_dir": "~/secrets"}) == str(tmp_path / "secrets")
    assert stack.value("credentials_dir", {"mlflow_stack_credentials_dir": "/srv/creds"}) == "/srv/creds"


def test_public_name_is_the_fqdn_of_the_first_proxy():
    assert stack.value("public_name", PROXY_FACTS) == "web1.example"
    facts_only = dict(PROXY_FACTS, hostvars={"web1": {"ansible_facts": {"fqdn": "web1.lan"}}})
    assert stack.value("public_name", facts_only) == "web1.lan"


def test_public_name_set_wins():
    variables = dict(PROXY_FACTS, mlflow_stack_public_name="mlflow.example")
    assert stack.value("public_name", variables) == "mlflow.example"


def test_public_name_without_proxy_group_uses_this_host():
    variables = {"inventory_hostname": "solo", "ansible_fqdn": "solo.example", "hostvars": {}}
    assert stack.value("public_name", variables) == "solo.example"


def test_public_name_without_facts_is_an_error_naming_the_variable():
    variables = dict(PROXY_FACTS, hostvars={"web1": {}})
    with pytest.raises(stack.StackError, match="set mlflow_stack_public_name.*'web1'"):
        stack.value("public_name", variables)


def test_public_names_are_the_public_name_then_the_aliases_without_duplicates():
    aliases = ["mlflow.example", "web1.example", "10.0.0.31", "mlflow.example"]
    variables = dict(PROXY_FACTS, mlflow_stack_public_aliases=aliases)
    assert stack.value("public_names", variables) == ["web1.example", "mlflow.example", "10.0.0.31"]
    assert stack.value("public_names", PROXY_FACTS) == ["web1.example"]


# --- secret() --------------------------------------------------------------------------------


def test_explicit_variable_wins_and_writes_nothing(creds):
    variables, directory = creds
    variables["mlflow_stack_db_password"] = "s3cret"
    assert stack.secret("db_password", variables) == "s3cret"
    assert stack.secret("db_password", variables, explicit="other") == "other"
    assert not directory.exists()


def test_explicit_variable_is_templated(creds):
    variables = creds[0]
    variables["mlflow_stack_s3_secret_key"] = "{{ vault_key }}"
    assert stack.secret("s3_secret_key", variables, template=lambda raw: raw.replace("{{ vault_key }}", "k3y")) == "k3y"


def test_generated_once_into_the_credentials_dir(creds):
    variables, directory = creds
    first = stack.secret("db_password", variables)
    path = directory / "db_password"
    assert len(first) == 32
    assert first.isalnum()
    assert path.read_text() == first + "\n"
    assert _mode(path) == 0o600
    assert _mode(directory) == 0o700
    assert os.listdir(directory) == ["db_password"]  # no temporary file left behind
    assert stack.secret("db_password", variables) == first
    assert path.read_text() == first + "\n"


def test_file_names_and_lengths(creds):
    variables, directory = creds
    assert len(stack.secret("crypto_kek_passphrase", variables)) == 48
    assert (directory / "mlflow_kek_passphrase").exists()
    alice = stack.secret("htpasswd_alice", variables)
    assert len(alice) == 32
    assert (directory / "htpasswd_alice").read_text() == alice + "\n"
    assert stack.secret("htpasswd_bob", variables) != alice
    assert sorted(os.listdir(directory)) == ["htpasswd_alice", "htpasswd_bob", "mlflow_kek_passphrase"]


def test_existing_password_lookup_file_is_read_and_kept(creds):
    variables, directory = creds
    directory.mkdir(mode=0o755)
    (directory / "db_password").write_text("abc salt=xyz\n")
    (directory / "minio_root_password").write_text("plain\n")
    (directory / "s3_secret_key").write_text("no-newline")
    assert stack.secret("db_password", variables) == "abc"
    assert stack.secret("minio_root_password", variables) == "plain"
    assert stack.secret("s3_secret_key", variables) == "no-newline"
    assert (directory / "db_password").read_text() == "abc salt=xyz\n"  # never rewritten


def test_an_empty_file_is_an_error_and_is_not_overwritten(creds):
    variables, directory = creds
    directory.mkdir()
    (directory / "db_password").write_text("")
    with pytest.raises(stack.StackError, match="db_password is empty"):
        stack.secret("db_password", variables)
    assert (directory / "db_password").read_text() == ""


def test_write_secret_file_never_overwrites(tmp_path):
    path = str(tmp_path / "d" / "f")
    stack.write_secret_file(path, "one")
    with pytest.raises(FileExistsError):
        stack.write_secret_file(path, "two")
    assert stack.read_secret_file(path) == "one"
    assert os.listdir(str(tmp_path / "d")) == ["f"]


def test_read_secret_file_of_a_missing_file_is_none(tmp_path):
    assert stack.read_secret_file(str(tmp_path / "missing")) is None


def test_generation_off_and_missing_names_the_variable(creds):
    variables, directory = creds
    variables["mlflow_stack_generate_secrets"] = "false"
    with pytest.raises(stack.StackError) as info:
        stack.secret("minio_root_password", variables)
    message = str(info.value)
    assert "mlflow_stack_minio_root_password is empty" in message
    assert "set mlflow_stack_minio_root_password or turn generation on" in message
    assert str(directory / "minio_root_password") in message
    assert not directory.exists()


def test_generation_off_and_missing_htpasswd_names_the_user(creds):
    variables, directory = creds
    variables["mlflow_stack_generate_secrets"] = False
    with pytest.raises(stack.StackError, match="the password of user 'alice' in mlflow_stack_users"):
        stack.secret("htpasswd_alice", variables)
    assert not directory.exists()


def test_generation_off_still_reads_stored_and_set_secrets(creds):
    variables, directory = creds
    variables["mlflow_stack_generate_secrets"] = "no"
    directory.mkdir()
    (directory / "htpasswd_alice").write_text("wonderland\n")
    assert stack.secret("htpasswd_alice", variables) == "wonderland"
    variables["mlflow_stack_db_password"] = "set"
    assert stack.secret("db_password", variables) == "set"


def test_credentials_dir_follows_the_stack_name(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    secret_value = stack.secret("db_password", {"mlflow_stack_name": "prod"})
    path = tmp_path / ".onprem-mlflow" / "prod" / "db_password"
    assert path.read_text() == secret_value + "\n"
    assert _mode(path.parent) == 0o700


@pytest.mark.parametrize("key", ["db_host", "htpasswd_", "htpasswd_a:b", "htpasswd_a/b", "../db_password"])
def test_unknown_secret_is_an_error(creds, key):
    variables, directory = creds
    with pytest.raises(stack.StackError, match="unknown stack secret"):
        stack.secret(key, variables)
    assert not directory.exists()
