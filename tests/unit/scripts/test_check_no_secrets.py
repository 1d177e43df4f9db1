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
    assert "checked 1 secrets (db_password: 1 fragments)" in result.stdout


def test_plain_leak_is_found(tmp_path):
    result = scan(tmp_path, "URI=postgresql://mlflow:%s@127.0.0.1/mlflow\n" % SECRET)
    assert result.returncode == 1
    assert "converge.log: db_password" in result.stdout
    assert "LEAKED into" in result.stdout


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


# --- the other texts of a run (--also) and the secret files of the credentials dir -------------

KEY_LINES = ["MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj",
             "MkbkF2H9mA3Tq7nP0xYzWvR5sLdUe1cBh6kQiJ0oN3pX4rG8tY2uI9wE5aS7dF1g"]
PEM_KEY = "-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----\n" % "\n".join(KEY_LINES)


def credentials(tmp_path):
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "db_password").write_text(SECRET + "\n")
    (creds / "s3_access_key").write_text("mlflowAccessKeyId01\n")
    (creds / "client.env").write_text("MLFLOW_TRACKING_USERNAME=alice\n")
    (creds / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\nMIIBpublicpublicpublic\n-----END CERTIFICATE-----\n")
    (creds / "ca.key").write_text(PEM_KEY)
    return creds


def run(tmp_path, creds, others):
    log = tmp_path / "converge.log"
    log.write_text("<host> ESTABLISH DOCKER CONNECTION FOR USER: root\nok\n")
    argv = [sys.executable, str(SCRIPT), str(log), str(creds)]
    for name, text in others.items():
        path = tmp_path / name
        path.write_text(text)
        argv += ["--also", str(path)]
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def test_every_secret_file_is_checked_and_public_files_are_not(tmp_path):
    result = run(tmp_path, credentials(tmp_path), {"ps.txt": "root 1 /lib/systemd/systemd mlflowAccessKeyId01\n"})
    assert result.returncode == 0, result.stdout
    assert "checked 2 secrets (ca.key: 2 fragments, db_password: 1 fragments) against 2 files" in result.stdout


def test_a_leak_in_another_text_is_found_and_named(tmp_path):
    journal = "Nov 22 mlflow[77]: postgresql://mlflow:%s@10.0.0.1/mlflow\n" % SECRET
    result = run(tmp_path, credentials(tmp_path), {"ps.txt": "root 1 init\n", "journal.txt": journal})
    assert result.returncode == 1
    assert "journal.txt: db_password" in result.stdout
    assert "ps.txt" not in result.stdout.split("LEAKED", 1)[1]


def test_one_line_of_the_ca_private_key_is_a_leak(tmp_path):
    result = run(tmp_path, credentials(tmp_path), {"nginx.log": "debug: %s\n" % KEY_LINES[1]})
    assert result.returncode == 1
    assert "nginx.log: ca.key" in result.stdout


def test_an_empty_extra_text_is_refused(tmp_path):
    result = run(tmp_path, credentials(tmp_path), {"empty.txt": "  \n"})
    assert result.returncode == 1
    assert "empty.txt is empty" in result.stdout


def test_a_short_secret_file_is_refused(tmp_path):
    creds = credentials(tmp_path)
    (creds / "htpasswd_bob").write_text("abc\n")
    result = run(tmp_path, creds, {})
    assert result.returncode == 1
    assert "htpasswd_bob is shorter than 8 characters" in result.stdout
