# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every role keeps the house rules: argument_specs in sync with defaults, preflight first."""

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
ROLES = sorted(p for p in (ROOT / "roles").iterdir() if p.is_dir())
EXPECTED_ROLES = {"common", "docker", "firewall", "postgresql", "mysql", "minio", "mlflow", "nginx"}
# YAML literal → argument_specs type
TYPES = {bool: "bool", int: "int", float: "float", list: "list", dict: "dict", str: "str"}


def load(path):
    return yaml.safe_load(path.read_text()) or {}


def main_options(role):
    specs = load(role / "meta" / "argument_specs.yml")["argument_specs"]
    return specs["main"].get("options") or {}


def test_every_expected_role_exists():
    assert {r.name for r in ROLES} >= EXPECTED_ROLES


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_defaults_and_argument_specs_name_the_same_variables(role):
    defaults = load(role / "defaults" / "main.yml")
    options = main_options(role)
    required = {name for name, spec in options.items() if spec.get("required")}
    assert sorted(set(defaults) - set(options)) == [], "defaults without an argument_specs option"
    assert sorted(set(options) - set(defaults) - required) == [], "options without a default (and not required)"
    assert sorted(required & set(defaults)) == [], "required options must not have a default"


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_variables_are_prefixed_with_the_role_name(role):
    defaults = load(role / "defaults" / "main.yml")
    assert [name for name in defaults if not name.startswith(role.name + "_")] == []


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_literal_defaults_match_their_declared_type(role):
    defaults = load(role / "defaults" / "main.yml")
    options = main_options(role)
    wrong = []
    for name, value in defaults.items():
        declared = options.get(name, {}).get("type", "str")
        if value is None or (isinstance(value, str) and "{{" in value):
            continue  # templated: resolved at run time, validated by the role itself
        actual = TYPES.get(type(value))
        if declared == "path" and actual == "str":
            continue
        if declared == "raw":
            continue
        if actual != declared:
            wrong.append("%s: default is %s, spec says %s" % (name, actual, declared))
    assert wrong == []


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_every_option_is_described(role):
    undocumented = [n for n, spec in main_options(role).items() if not spec.get("description")]
    assert undocumented == []


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_every_default_has_a_comment(role):
    lines = (role / "defaults" / "main.yml").read_text().splitlines()
    uncommented = []
    for index, line in enumerate(lines):
        if line and not line.startswith((" ", "#", "-")) and ":" in line:
            previous = next((p for p in reversed(lines[:index]) if p.strip()), "")
            if not previous.lstrip().startswith("#"):
                uncommented.append(line.split(":", 1)[0])
    assert uncommented == []


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_preflight_runs_first(role):
    tasks = load(role / "tasks" / "main.yml")
    assert (role / "tasks" / "preflight.yml").is_file()
    first = tasks[0]
    included = first.get("ansible.builtin.include_tasks") or first.get("ansible.builtin.import_tasks")
    if isinstance(included, dict):
        included = included.get("file")
    assert included == "preflight.yml", "tasks/main.yml must start with preflight.yml"


def test_role_variable_docs_are_generated_from_the_specs():
    import subprocess
    import sys

    script = ROOT / "tests" / "scripts" / "gen_role_docs.py"
    result = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_preflight_is_an_entry_point_with_the_options_of_main(role):
    specs = load(role / "meta" / "argument_specs.yml")["argument_specs"]
    assert specs["preflight"]["options"] == specs["main"]["options"]
    text = (role / "meta" / "argument_specs.yml").read_text()
    assert "main: &main" in text and "preflight: *main" in text, "preflight must be an alias of main"


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_roles_leave_validation_to_ansible_and_stack_defaults_to_the_lookup(role):
    offending = []
    for path in sorted(role.rglob("*.yml")) + sorted(role.rglob("*.j2")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if "validate_argument_spec" in line or "ansible.builtin.env', 'HOME'" in line:
                offending.append("%s:%d" % (path.relative_to(ROOT), number))
            if "mlflow_stack_" in line and "| default(" in line:
                offending.append("%s:%d (use lookup('onprem.mlflow.stack', ...))" % (path.relative_to(ROOT), number))
    assert offending == []


def test_site_runs_each_roles_preflight_entry_point():
    plays = load(ROOT / "playbooks" / "site.yml")
    included = [task["ansible.builtin.include_role"] for task in plays[0]["tasks"]
                if "ansible.builtin.include_role" in task]
    assert included and all(role["tasks_from"] == "preflight" for role in included)
