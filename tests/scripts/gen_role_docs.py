"""Write docs/roles.md from every role's meta/argument_specs.yml (the single source of truth).

    gen_role_docs.py           rewrite docs/roles.md
    gen_role_docs.py --check   exit 1 when docs/roles.md is out of date (a unit test runs this)
"""

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "docs" / "roles.md"


def cell(value):
    text = " ".join(value) if isinstance(value, list) else str(value)
    return text.replace("|", "\\|").replace("\n", " ").strip()


def render():
    out = [
        "# Role variables",
        "",
        "Generated from each role's `meta/argument_specs.yml` by `tests/scripts/gen_role_docs.py`;",
        "do not edit by hand. `ansible-doc -t role onprem.mlflow.<role>` shows the same.",
        "",
    ]
    for role in sorted(p for p in (ROOT / "roles").iterdir() if (p / "meta" / "argument_specs.yml").is_file()):
        main = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]
        defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text()) or {}
        out += ["## `onprem.mlflow.%s`" % role.name, "", cell(main.get("short_description", "")), ""]
        out += ["| variable | type | default | description |", "|---|---|---|---|"]
        for name, spec in sorted((main.get("options") or {}).items()):
            if spec.get("required"):
                default = "**required**"
            else:
                default = "`%s`" % cell(yaml.safe_dump(defaults.get(name), default_flow_style=True).strip())
                default = default.replace("\n...", "").replace(" ...`", "`")
            choices = " Choices: %s." % ", ".join("`%s`" % c for c in spec["choices"]) if spec.get("choices") else ""
            out.append(
                "| `%s` | %s | %s | %s%s |"
                % (name, spec.get("type", "str"), default, cell(spec.get("description", "")), choices)
            )
        out.append("")
    return "\n".join(out)


def main():
    text = render()
    if "--check" in sys.argv:
        if not TARGET.exists() or TARGET.read_text() != text:
            print("docs/roles.md is out of date: run python3 tests/scripts/gen_role_docs.py")
            return 1
        return 0
    TARGET.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
