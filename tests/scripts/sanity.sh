#!/usr/bin/env bash
# ansible-test sanity on a copy of the collection laid out as ansible_collections/onprem/mlflow
# (ansible-test needs that path; the copy holds exactly the files git would ship).
# No container registry here, so the tests run in virtualenvs ansible-test makes itself (--venv).
set -euo pipefail
cd "$(dirname "$0")/../.."
# ansible-test bootstraps pip in its venvs with a get-pip.py it downloads from a host we cannot
# reach: give it the offline stand-in (ensurepip + pip from the package index) under its cache name.
pip_version=$(python3 - <<'PY'
import pathlib, re, ansible_test
src = (pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py").read_text()
print(re.search(r"pip='([0-9.]+)'", src).group(1))
PY
)
cache=~/.ansible/test/cache/get_pip_${pip_version//./_}.py
mkdir -p "$(dirname "$cache")"
cmp -s tests/scripts/get_pip_offline.py "$cache" || cp tests/scripts/get_pip_offline.py "$cache"
dest=tests/output/sanity/ansible_collections/onprem/mlflow
rm -rf tests/output/sanity
mkdir -p "$dest"
git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} cp --parents {} "$dest"/
cd "$dest"
git init -q . && git add -A >/dev/null   # ansible-test lists the collection's files through git
ansible-test sanity --venv --requirements --python "$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')" \
  --color no "$@"
