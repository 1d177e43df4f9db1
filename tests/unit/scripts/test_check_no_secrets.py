# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The secret scan of the -vvv converge log must see through Molecule's wrapped, coloured output."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check_no_secrets.py"
SECRET = "Q7rT2mXw9LpZk4VbN8cY3hJd6FsG1aUe"


def scan(tmp_path, log_text):
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "db_password").write_text(SECRET + "\n")
    (creds / "ca.crt").write_text("not a secret")
    log = tmp_path / "converge.log"
    log.write_text("<host> ESTABLISH DOCKER CONNECTION FOR USER: root\n" + log_text)
    return subprocess.run([sys.executable, str(SCRIPT), str(log), str(creds)], capture_output=True, text=True,
                          check=False)


def test_clean_log_passes(tmp_path):
    result = scan(tmp_path, "TASK [x]\nok: [host]\n")
    assert result.returncode == 0, result.stdout
    assert "checked 1 secrets (db_password)" in result.stdout


def test_plain_leak_is_found(tmp_path):
    result = scan(tmp_path, "URI=postgresql://mlflow:%s@127.0.0.1/mlflow\n" % SECRET)
    assert result.returncode == 1
    assert "LEAKED into the log: db_password" in result.stdout


def test_leak_wrapped_inside_a_molecule_box_is_found(tmp_path):
    wrapped = "  \x1b[2m\u2502\x1b[0m URI=postgresql://mlflow:%s\n  \x1b[2m\u2502\x1b[0m   %s@127.0.0.1\n" % (
        SECRET[:13], SECRET[13:])
    result = scan(tmp_path, wrapped)
    assert result.returncode == 1
    assert "db_password" in result.stdout


def test_a_log_without_verbosity_is_refused(tmp_path):
    log = tmp_path / "plain.log"
    log.write_text("PLAY RECAP\n")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "db_password").write_text(SECRET)
    result = subprocess.run([sys.executable, str(SCRIPT), str(log), str(tmp_path / "c")], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 1
