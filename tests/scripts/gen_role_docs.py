"""Keep the role contracts and their docs generated from one source each.

Each variable is described once, by the comment above it in the role's defaults/main.yml, next to
its one default. From there this script writes:
  - the description and default of every option of the role's meta/argument_specs.yml (type,
    choices, elements and no_log stay written by hand there), and the `preflight` entry point as a
    YAML alias of `main` (playbooks/site.yml validates with `tasks_from: preflight`);
  - docs/roles.md: the stack-variable table (from plugins/plugin_utils/stack.py) and one table
    per role.

    gen_role_docs.py           rewrite meta/argument_specs.yml of every role and docs/roles.md
    gen_role_docs.py --check   exit 1 when one of them is out of date (a unit test runs this)
"""

import importlib.util
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "docs" / "roles.md"
ROLES = sorted(p for p in (ROOT / "roles").iterdir() if (p / "meta" / "argument_specs.yml").is_file())
SPEC_HEADER = (
    "---\n"
    "# The contract of the role. Types, choices, elements and no_log are written here; every description\n"
    "# and default comes from defaults/main.yml (its comments): edit them there and run\n"
    "# tests/scripts/gen_role_docs.py. `preflight` (checks only, used by playbooks/site.yml) takes the\n"
    "# same options as `main`.\n"
)
OPTION_ORDER = ("description", "type", "elements", "choices", "required", "no_log", "options", "default")


def load_stack():
    spec = importlib.util.spec_from_file_location("stack", ROOT / "plugins" / "plugin_utils" / "stack.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def defaults_comments(path):
    """{variable: comment above it} of a defaults file, each comment joined into one paragraph."""
    lines = path.read_text().splitlines()
    result = {}
    for index, line in enumerate(lines):
        if line and not line.startswith((" ", "#", "-")) and ":" in line and line != "---":
            comment = []
            for previous in reversed(lines[:index]):
                if not previous.startswith("#"):
                    break
                comment.insert(0, previous[1:].strip())
            result[line.split(":", 1)[0]] = " ".join(comment)
    return result


class SpecDumper(yaml.SafeDumper):
    """Block style with indented sequences; the one shared entry gets the anchor `main`."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)

    def generate_anchor(self, node):
        return "main"


def render_spec(role):
    path = role / "meta" / "argument_specs.yml"
    specs = yaml.safe_load(path.read_text())["argument_specs"]
    main = specs["main"]
    defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text()) or {}
    comments = defaults_comments(role / "defaults" / "main.yml")
    options = {}
    for name in defaults:
        option = dict((main.get("options") or {}).get(name) or {})
        option["description"] = [comments.get(name, "")]
        option["default"] = defaults[name]
        options[name] = dict(sorted(option.items(), key=lambda kv: OPTION_ORDER.index(kv[0])
                                    if kv[0] in OPTION_ORDER else len(OPTION_ORDER)))
    for name, option in (main.get("options") or {}).items():
        if option.get("required") and name not in options:
            options[name] = option
    main = dict((k, v) for k, v in main.items() if k != "options")
    main["options"] = options
    text = yaml.dump({"argument_specs": {"main": main, "preflight": main}}, Dumper=SpecDumper,
                     sort_keys=False, width=100, allow_unicode=True)
    return path, SPEC_HEADER + text


def cell(value):
    text = " ".join(value) if isinstance(value, list) else str(value)
    return text.replace("|", "\\|").replace("\n", " ").strip()


def code(value):
    text = yaml.safe_dump(value, default_flow_style=True, width=10 ** 6).strip()
    return "`%s`" % cell(text.replace("\n...", "")).replace(" ...", "")


def render_stack_table():
    stack = load_stack()
    out = [
        "## Stack variables",
        "",
        "Set them once for the whole inventory (group_vars/all); every one is optional. Roles read them",
        "through the lookups `onprem.mlflow.stack` and `onprem.mlflow.stack_secret`",
        "(`plugins/plugin_utils/stack.py` holds the defaults and rules below; a bad value stops the",
        "preflight naming the variable).",
        "",
        "| variable | type | default | description |",
        "|---|---|---|---|",
    ]
    for value in stack.VALUES:
        choices = " Choices: %s." % ", ".join("`%s`" % c for c in value.choices) if value.choices else ""
        rule = " Must be %s." % value.rule_text if value.rule_text else ""
        row = (value.variable, value.kind, code(value.default), cell(value.description), choices, rule)
        out.append("| `%s` | %s | %s | %s%s%s |" % row)
    out += [
        "",
        "Secrets: set the variable (from Ansible Vault, say) or leave it empty; an empty secret is",
        "generated once into the credentials directory and read from there on every later run.",
        "",
        "| variable | file in the credentials directory | generated length | description |",
        "|---|---|---|---|",
    ]
    for secret in stack.SECRETS:
        row = (secret.variable, secret.file_name, secret.length, cell(secret.description))
        out.append("| `%s` | `%s` | %d | %s |" % row)
    out.append("| `password` of a user in `mlflow_stack_users` | `htpasswd_<name>` | 32 | That user's basic-auth "
               "password. |")
    out.append("")
    return out


def render_docs():
    out = [
        "# Role variables",
        "",
        "Generated by `tests/scripts/gen_role_docs.py` from `plugins/plugin_utils/stack.py` and each",
        "role's `defaults/main.yml` and `meta/argument_specs.yml`; do not edit by hand.",
        "`ansible-doc -t role onprem.mlflow.<role>` shows the role tables too.",
        "",
    ]
    out += render_stack_table()
    for role in ROLES:
        main = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]
        out += ["## `onprem.mlflow.%s`" % role.name, "", cell(main.get("short_description", "")), ""]
        out += ["| variable | type | default | description |", "|---|---|---|---|"]
        for name, spec in sorted((main.get("options") or {}).items()):
            default = "**required**" if spec.get("required") else code(spec.get("default"))
            choices = " Choices: %s." % ", ".join("`%s`" % c for c in spec["choices"]) if spec.get("choices") else ""
            out.append("| `%s` | %s | %s | %s%s |"
                       % (name, spec.get("type", "str"), default, cell(spec.get("description", "")), choices))
        out.append("")
    return "\n".join(out)


def main():
    check = "--check" in sys.argv
    stale = []
    for role in ROLES:
        path, text = render_spec(role)
        if path.read_text() != text:
            stale.append(str(path.relative_to(ROOT)))
            if not check:
                path.write_text(text)
    docs = render_docs()
    if not TARGET.exists() or TARGET.read_text() != docs:
        stale.append(str(TARGET.relative_to(ROOT)))
        if not check:
            TARGET.write_text(docs)
    if check and stale:
        print("out of date: %s; run python3 tests/scripts/gen_role_docs.py" % ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
