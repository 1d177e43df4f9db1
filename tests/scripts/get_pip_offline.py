"""Offline stand-in for the get-pip.py bootstrap script that ansible-test downloads.

ansible-test bootstraps pip in the virtual environments it creates with a get-pip.py fetched from
a host this project's machines cannot reach (only package registries are). This script does the
same job with the standard library's ensurepip, then installs the packages ansible-test asked for
from the configured package index. tests/scripts/sanity.sh puts it into ansible-test's cache.
"""

import subprocess
import sys

subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
# get-pip.py options that pip itself does not know
packages = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
if packages:
    subprocess.check_call([sys.executable, "-m", "pip", "install", *packages])
