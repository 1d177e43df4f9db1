"""Fail when a log contains any secret of the stack.

    check_no_secrets.py LOG CREDENTIALS_DIR

The secrets are the generated (or operator-supplied, copied there by the roles) files in the
credentials directory: passwords and secret keys. Each must be absent from LOG, which is a
converge run with -vvv. Prints what was checked (names, never values) and exits 1 on a hit.
"""

import os
import re
import sys

SECRET_PREFIXES = ("db_password", "s3_secret_key", "htpasswd_")
# Molecule's console wraps long lines inside a box ("│") and colours them: a secret can be cut in
# two. Compare with escape sequences, white space and box characters taken out of both sides.
_NOISE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|[\s\u2500-\u257f]")


def normalize(text):
    return _NOISE.sub("", text)


def main():
    log_path, credentials_dir = sys.argv[1], sys.argv[2]
    with open(log_path, encoding="utf-8", errors="replace") as handle:
        log = handle.read()
    if "-vvv" not in log and "<ESTABLISH" not in log and "ESTABLISH" not in log:
        print("%s does not look like a -vvv log" % log_path)
        return 1
    names = sorted(n for n in os.listdir(credentials_dir) if n.startswith(SECRET_PREFIXES))
    if not names:
        print("no secrets found in %s: nothing would be checked" % credentials_dir)
        return 1
    normalized_log = normalize(log)
    leaked = []
    for name in names:
        with open(os.path.join(credentials_dir, name)) as handle:
            secret = handle.read().strip()
        if len(secret) < 8:
            print("secret %s is shorter than 8 characters" % name)
            return 1
        if secret in log or normalize(secret) in normalized_log:
            leaked.append(name)
    print("checked %d secrets (%s) against %d bytes of -vvv log" % (len(names), ", ".join(names), len(log)))
    if leaked:
        print("LEAKED into the log: %s" % ", ".join(leaked))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
