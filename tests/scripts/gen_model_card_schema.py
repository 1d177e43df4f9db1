"""Write docs/model_card.schema.json from the one schema of onprem.mlflow.model_card.

The schema lives in plugins/module_utils/model_card.py (SCHEMA), where the module validates with
it; the JSON file is the same schema for editors and other JSON Schema tools.

    gen_model_card_schema.py           rewrite docs/model_card.schema.json
    gen_model_card_schema.py --check   exit 1 when it is out of date (a unit test runs this)
"""

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "docs" / "model_card.schema.json"


def schema_text():
    spec = importlib.util.spec_from_file_location("model_card", ROOT / "plugins" / "module_utils" / "model_card.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return json.dumps(module.SCHEMA, indent=2, sort_keys=True) + "\n"


def main():
    text = schema_text()
    if "--check" in sys.argv[1:]:
        if not TARGET.exists() or TARGET.read_text() != text:
            print("out of date: %s; run python3 tests/scripts/gen_model_card_schema.py" % TARGET.relative_to(ROOT))
            return 1
        return 0
    TARGET.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
