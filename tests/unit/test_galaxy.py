# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""galaxy.yml: the dependencies are the collections the content uses, the tarball holds what users need only."""

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
OWN = "%s.%s" % (GALAXY["namespace"], GALAXY["name"])
BUILTIN = {"ansible.builtin", "ansible.legacy", OWN}

NAME = r"[a-z_][a-z0-9_]*"
FQCN = re.compile(r"^(%s\.%s)\.%s(?:\.%s)*$" % (NAME, NAME, NAME, NAME))
# Inside Jinja: lookups/queries, filters and tests named by FQCN.
JINJA_REFS = [
    re.compile(r"""\b(?:lookup|query|q)\(\s*['"](%s\.%s)\.%s""" % (NAME, NAME, NAME)),
    re.compile(r"\|\s*(%s\.%s)\.%s" % (NAME, NAME, NAME)),
    re.compile(r"\bis\s+(?:not\s+)?(%s\.%s)\.%s" % (NAME, NAME, NAME)),
]
JINJA_BLOCK = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
# Keys whose value is a bare Jinja expression.
CONDITIONALS = {"when", "that", "changed_when", "failed_when", "until"}
ROLE_ACTIONS = {p + a for p in ("", "ansible.builtin.", "ansible.legacy.") for a in ("include_role", "import_role")}
PLAYBOOK_ACTIONS = {"import_playbook", "ansible.builtin.import_playbook"}


def jinja_refs(text, bare=False):
    found = set()
    for block in [text] if bare else JINJA_BLOCK.findall(text):
        for pattern in JINJA_REFS:
            found.update(pattern.findall(block))
    return found


def fqcn_collection(name):
    match = FQCN.match(name) if isinstance(name, str) else None
    return {match.group(1)} if match else set()


def yaml_refs(node, tasks):
    """Collections named in a loaded YAML file; with tasks=True its keys may be module names."""
    found = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if tasks:
                found |= fqcn_collection(key)
            if key in ROLE_ACTIONS and isinstance(value, dict):
                found |= fqcn_collection(value.get("name"))
            elif key in PLAYBOOK_ACTIONS:
                found |= fqcn_collection(value)
            elif key in ("roles", "dependencies") and isinstance(value, list):
                for role in value:
                    found |= fqcn_collection(role.get("role", role.get("name")) if isinstance(role, dict) else role)
            elif key == "collections" and isinstance(value, list):
                found |= {c for c in value if isinstance(c, str)}
            elif key in CONDITIONALS and isinstance(value, (str, list)):
                for expression in value if isinstance(value, list) else [value]:
                    found |= jinja_refs(str(expression), bare=True)
            found |= yaml_refs(value, tasks)
    elif isinstance(node, list):
        for item in node:
            found |= yaml_refs(item, tasks)
    elif isinstance(node, str):
        found |= jinja_refs(node)
    return found


def used_collections():
    """Collection -> files that use it, over roles/, playbooks/, site.yml and the plugins' imports."""
    used = {}
    files = sorted(ROOT.glob("roles/**/*.yml")) + sorted(ROOT.glob("playbooks/*.yml")) + [ROOT / "site.yml"]
    for path in files:
        rel = path.relative_to(ROOT)
        tasks = rel.parts[0] != "roles" or rel.parts[2] in ("tasks", "handlers")
        for collection in yaml_refs(yaml.safe_load(path.read_text()), tasks):
            used.setdefault(collection, []).append(str(rel))
    for path in sorted(ROOT.glob("roles/*/templates/**/*.j2")):
        for collection in jinja_refs(path.read_text()):
            used.setdefault(collection, []).append(str(path.relative_to(ROOT)))
    for path in sorted(ROOT.glob("plugins/**/*.py")):
        for collection in re.findall(r"\bansible_collections\.(%s\.%s)\b" % (NAME, NAME), path.read_text()):
            used.setdefault(collection, []).append(str(path.relative_to(ROOT)))
    return {c: files for c, files in used.items() if c not in BUILTIN}


def test_the_scanner_sees_module_filter_lookup_and_role_references():
    tasks = yaml.safe_load("""
- name: a module
  community.crypto.openssl_privatekey: {path: /k}
- name: a filter, a lookup, a test
  ansible.builtin.debug:
    msg: "{{ x | ns_a.coll.f }} {{ lookup('ns_b.coll.l', 'k') }}"
  when: y is ns_c.coll.t
- name: a role
  ansible.builtin.include_role: {name: ns_d.coll.r}
- name: plain dotted data is no reference
  ansible.builtin.debug:
    msg: "host is mlflow.example.internal, {{ item.stat.exists }}"
""")
    assert yaml_refs(tasks, tasks=True) == {
        "community.crypto", "ansible.builtin", "ns_a.coll", "ns_b.coll", "ns_c.coll", "ns_d.coll"}


def test_dependencies_are_exactly_the_collections_the_content_uses():
    used = used_collections()
    declared = set(GALAXY.get("dependencies") or {})
    missing = {c: files for c, files in used.items() if c not in declared}
    assert missing == {}, "used but not in galaxy.yml dependencies"
    assert sorted(declared - set(used)) == [], "in galaxy.yml dependencies but not used"


@pytest.mark.parametrize("collection", sorted(GALAXY.get("dependencies") or {}))
def test_dependency_has_a_lower_bound_the_installed_bundle_meets(collection):
    requirement = GALAXY["dependencies"][collection]
    assert re.match(r"^>=\d+\.\d+\.\d+", requirement), "a lower bound, not %r" % requirement
    spec = importlib.util.find_spec("ansible_collections.%s" % collection)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("%s is not installed here (the ansible package brings it)" % collection)
    manifest = Path(list(spec.submodule_search_locations)[0]) / "MANIFEST.json"
    version = json.loads(manifest.read_text())["collection_info"]["version"]
    from ansible.galaxy.dependency_resolution.versioning import meets_requirements

    assert meets_requirements(version, requirement), "installed %s %s" % (collection, version)


# Development-only paths, planted in a copy of the checkout before building it.
PLANTED = [
    ".venv/bin/python",
    ".cache/collections/marker",
    ".ansible/tmp/marker",
    ".ruff_cache/marker",
    ".pytest_cache/marker",
    "tests/output/bench/results.json",
    "tests/output/molecule/default/credentials/db_password",
    "molecule/default/credentials/db_password",
    "credentials/db_password",
    "plugins/filter/__pycache__/topology.cpython-311.pyc",
    "plugins/module_utils/sql.pyc",
    "roles/mlflow/tasks/main.yml.swp",
    "roles/mlflow/tasks/main.yml~",
    "changelogs/.plugin-cache.yaml",
    "changelogs/fragments/unreleased.yml",
    "onprem-mlflow-0.0.1.tar.gz",
]
FORBIDDEN_PARTS = {".venv", ".cache", ".ansible", ".ruff_cache", ".pytest_cache", ".git", ".ci", ".config",
                   "__pycache__", "credentials", "molecule", "tests", "bench", "fragments"}
FORBIDDEN_FILES = {"Makefile", "ansible.cfg", "site.yml", "requirements.txt", "requirements-dev.txt",
                   "ruff.toml", ".ansible-lint", ".yamllint", ".gitignore", "changelogs/.plugin-cache.yaml"}
REQUIRED = ["README.md", "LICENSE", "CHANGELOG.md", "meta/runtime.yml", "changelogs/changelog.yaml",
            "docs/roles.md", "playbooks/site.yml", "plugins/modules/s3_bucket.py", "plugins/filter/topology.py",
            "plugins/lookup/stack.py", "inventories/example/hosts.yml"]


@pytest.fixture(scope="module")
def built_tarball(tmp_path_factory):
    """The tarball `ansible-galaxy collection build` makes of a copy of the checkout with development
    files planted in it."""
    galaxy = shutil.which("ansible-galaxy") or str(Path(sys.executable).parent / "ansible-galaxy")
    if not Path(galaxy).exists():
        pytest.skip("ansible-galaxy not found")
    tmp = tmp_path_factory.mktemp("galaxy-build")
    tree = tmp / "mlflow"
    top_skip = {".git", ".venv", ".cache", ".ansible", ".ruff_cache", ".pytest_cache"}
    skip = {str(ROOT): top_skip, str(ROOT / "tests"): {"output"}}
    shutil.copytree(ROOT, tree, symlinks=True, ignore=lambda d, names: [n for n in names if n in skip.get(d, ())])
    for rel in PLANTED:
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text("development only\n")
    subprocess.run([galaxy, "collection", "build", "--force", "--output-path", str(tmp), str(tree)],
                   check=True, capture_output=True, text=True)
    [built] = tmp.glob("%s-%s-*.tar.gz" % (GALAXY["namespace"], GALAXY["name"]))
    return built


@pytest.fixture(scope="module")
def tarball_members(built_tarball):
    with tarfile.open(built_tarball) as tar:
        members = tar.getnames()
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    return members, manifest


def test_tarball_keeps_development_files_out(tarball_members):
    members = tarball_members[0]
    leaked = [m for m in members
              if FORBIDDEN_PARTS & set(Path(m).parts) or m in FORBIDDEN_FILES
              or m.endswith((".pyc", ".swp", "~", ".tar.gz"))]
    assert leaked == []


def test_tarball_holds_what_users_need(tarball_members):
    members, manifest = tarball_members
    assert [r for r in REQUIRED if r not in members] == []
    for role in sorted(p.name for p in (ROOT / "roles").iterdir() if p.is_dir()):
        assert "roles/%s/tasks/main.yml" % role in members
        assert "roles/%s/meta/argument_specs.yml" % role in members
    assert manifest["collection_info"]["dependencies"] == GALAXY["dependencies"]


def test_installed_tarball_documents_every_plugin_and_role(built_tarball, tmp_path):
    """Installed with ansible-galaxy into an empty collections path (no checkout, no ansible.cfg),
    ansible-doc documents every module, lookup, filter and role of the collection."""
    bindir = Path(sys.executable).parent
    collections = tmp_path / "collections"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_") and k != "PYTHONPATH"}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1")
    subprocess.run([str(bindir / "ansible-galaxy"), "collection", "install", "--offline", "--no-deps",
                    "-p", str(collections), str(built_tarball)],
                   cwd=tmp_path, env=env, check=True, capture_output=True, text=True)
    fqcn = "%s.%s." % (GALAXY["namespace"], GALAXY["name"])
    expected = {
        "module": sorted(p.stem for p in (ROOT / "plugins/modules").glob("*.py") if p.stem != "__init__"),
        "lookup": sorted(p.stem for p in (ROOT / "plugins/lookup").glob("*.py") if p.stem != "__init__"),
        "filter": sorted(p.stem for p in (ROOT / "plugins/filter").glob("*.yml")),
        "role": sorted(p.name for p in (ROOT / "roles").iterdir() if p.is_dir()),
    }
    for plugin_type, names in expected.items():
        assert names, plugin_type
        result = subprocess.run([str(bindir / "ansible-doc"), "-t", plugin_type, "--json"]
                                + [fqcn + name for name in names],
                                cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
        docs = json.loads(result.stdout)
        assert sorted(docs) == [fqcn + name for name in names], (plugin_type, result.stderr)
        for name, doc in docs.items():
            if plugin_type == "role":
                descriptions = [ep.get("short_description") for ep in doc["entry_points"].values()]
                assert descriptions and all(descriptions), name
            else:
                assert doc["doc"].get("short_description") and doc["doc"].get("description"), name
