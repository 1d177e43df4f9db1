# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""site.yml refuses bad input in its preflight play: before any change, naming the variable.

Each case runs the real site.yml against this controller (connection local, all four groups)
with one bad value. The run must fail in the preflight play (no task of a later play started,
nothing changed) with a message that names the variable.
"""

import hashlib
import http.server
import json
import os
import platform
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = """
all:
  children:
    mlflow_db: {hosts: {localhost: }}
    mlflow_storage: {hosts: {localhost: }}
    mlflow_server: {hosts: {localhost: }}
    mlflow_proxy: {hosts: {localhost: }}
  vars:
    ansible_connection: local
    ansible_python_interpreter: %s
""" % sys.executable

CASES = {
    "unknown install method": ({"minio_install_method": "curl-pipe-sh"}, "minio_install_method"),
    "invalid bucket name": ({"mlflow_stack_bucket": "Bad_Bucket"}, "mlflow_stack_bucket"),
    "missing MinIO root password with generation off": (
        {"mlflow_stack_generate_secrets": False, "mlflow_stack_db_password": "x" * 24,
         "mlflow_stack_minio_root_user": "minioadmin", "mlflow_stack_s3_secret_key": "z" * 24,
         "mlflow_stack_users": [{"name": "alice", "password": "y" * 24}]},
        "mlflow_stack_minio_root_password",
    ),
    "missing MLflow's MinIO secret with generation off": (
        {"mlflow_stack_generate_secrets": False, "mlflow_stack_db_password": "x" * 24,
         "mlflow_stack_minio_root_user": "minioadmin", "mlflow_stack_minio_root_password": "w" * 24,
         "mlflow_stack_users": [{"name": "alice", "password": "y" * 24}]},
        "mlflow_stack_s3_secret_key",
    ),
    "missing DB password with generation off": (
        {"mlflow_stack_generate_secrets": False, "mlflow_stack_s3_access_key": "mlflowadmin",
         "mlflow_stack_s3_secret_key": "z" * 24, "mlflow_stack_users": [{"name": "alice", "password": "y" * 24}]},
        "db_password",
    ),
    "missing MLflow secret-encryption passphrase with generation off": (
        {"mlflow_stack_generate_secrets": False, "mlflow_stack_db_password": "x" * 24,
         "mlflow_stack_minio_root_user": "minioadmin", "mlflow_stack_minio_root_password": "w" * 24,
         "mlflow_stack_s3_secret_key": "z" * 24, "mlflow_stack_users": [{"name": "alice", "password": "y" * 24}]},
        "mlflow_stack_crypto_kek_passphrase",
    ),
    "spool directory on tmpfs": ({"mlflow_spool_dir": "/tmp/mlflow-spool"}, "mlflow_spool_dir"),
    "unknown database engine": ({"mlflow_stack_db_engine": "oracle"}, "mlflow_stack_db_engine"),
    "unknown TLS mode": ({"nginx_tls_mode": "letsencrypt"}, "nginx_tls_mode"),
    # Role-level overrides bypass the stack lookup's checks: the roles check them again.
    "short MinIO root password set on the role": ({"minio_root_password": "short"}, "minio_root_password"),
    "short S3 access key set on the mlflow role": ({"mlflow_s3_access_key": "ab"}, "mlflow_s3_access_key"),
    "public aliases not a list": ({"nginx_public_aliases": "mlflow.example.com"}, "nginx_public_aliases"),
    # Source method, nothing cached (a cache directory that does not exist): which Go builds MinIO.
    "no Go on the controller with the toolchain fetch off": (
        {"minio_go_toolchain": "never", "minio_go_command": "/nonexistent/go",
         "minio_controller_cache_dir": "/nonexistent/onprem-mlflow-cache"},
        "minio_go_toolchain",
    ),
    "no Go module proxy to fetch the toolchain from": (
        {"minio_go_toolchain": "always", "minio_go_proxy": "off", "minio_go_command": "/nonexistent/go",
         "minio_controller_cache_dir": "/nonexistent/onprem-mlflow-cache",
         "minio_go_toolchain_cache_dir": "/nonexistent/onprem-mlflow-go"},
        "minio_go_proxy",
    ),
    "toolchain older than MinIO's go.mod asks for": ({"minio_go_toolchain_version": "1.22.12"}, "minio_go_min_version"),
    "toolchain checksum not 64 hex digits": (
        {"minio_go_toolchain_sha256": {"amd64": "f64ecb08"}}, "minio_go_toolchain_sha256",
    ),
    "url method without checksum": (
        {"minio_install_method": "url", "minio_binary_url": "https://mirror.invalid/minio"},
        "minio_binary_sha256",
    ),
}


def run_site(tmp_path, extra_vars, inventory=INVENTORY, args=()):
    """site.yml against this controller with extra_vars; its json callback report."""
    (tmp_path / "hosts.yml").write_text(inventory)
    extra_vars = dict(extra_vars, mlflow_stack_credentials_dir=str(tmp_path / "credentials"))
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
        ANSIBLE_NOCOLOR="1",
    )
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(tmp_path / "hosts.yml"),
         str(ROOT / "site.yml"), "-e", json.dumps(extra_vars), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode != 0, result.stdout[-2000:]
    return json.loads(result.stdout)


def assert_failed_in_preflight(report, variable, tmp_path):
    """Only the preflight play ran, it failed naming variable, and nothing changed."""
    played = [play["play"]["name"] for play in report["plays"]]
    assert len(played) == 1 and played[0].startswith("Preflight"), played
    failed = [task["hosts"]["localhost"] for task in report["plays"][0]["tasks"]
              if task["hosts"].get("localhost", {}).get("failed")]
    # A looped task says "One or more items failed": its items' messages say why.
    failures = [result.get("msg", "") for result in failed] + [
        item.get("msg", "") for result in failed for item in result.get("results", []) if item.get("failed")
    ]
    assert failures, "no failed task in the preflight play"
    assert variable in str(failures), failures
    assert report["stats"]["localhost"]["changed"] == 0
    assert not (tmp_path / "credentials").exists(), "preflight must not generate secrets"
    return failures


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_value_fails_in_preflight_naming_the_variable(case, tmp_path):
    extra_vars, variable = CASES[case]
    assert_failed_in_preflight(run_site(tmp_path, extra_vars), variable, tmp_path)


class _ToolchainProxy(http.server.BaseHTTPRequestHandler):
    """A Go module proxy on loopback whose toolchain zip is not the pinned one."""

    body = b"PK not the Go toolchain"
    requested = []

    def do_GET(self):
        self.requested.append(self.path)
        if self.path.startswith("/golang.org/toolchain/@v/") and self.path.endswith(".zip"):
            self.send_response(200)
            self.send_header("Content-Length", str(len(self.body)))
            self.end_headers()
            self.wfile.write(self.body)
        else:
            self.send_error(404)

    def log_message(self, *args):
        pass


def test_wrong_toolchain_checksum_stops_before_any_host_changes(tmp_path):
    """The toolchain zip is fetched and checked in the preflight play: a pin that does not match the
    bytes the proxy serves stops the run there, naming minio_go_toolchain_sha256; the zip is not kept."""
    arch = {"x86_64": "amd64", "aarch64": "arm64"}[platform.machine()]
    version = "1.26.10"
    toolchain_dir = tmp_path / "go"
    # The cache directory the zip goes to exists, so the preflight play's only change (creating it
    # on the controller) does not count in the changed total this test checks.
    toolchain_dir.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ToolchainProxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        report = run_site(tmp_path, {
            "minio_go_toolchain": "always",
            "minio_go_toolchain_version": version,
            "minio_go_toolchain_sha256": {arch: "0" * 64},
            "minio_go_proxy": f"http://127.0.0.1:{server.server_address[1]}",
            "minio_go_command": "/nonexistent/go",
            "minio_controller_cache_dir": str(tmp_path / "cache"),
            "minio_go_toolchain_cache_dir": str(toolchain_dir),
        })
    finally:
        server.shutdown()
    assert _ToolchainProxy.requested == [f"/golang.org/toolchain/@v/v0.0.1-go{version}.linux-{arch}.zip"]
    failures = assert_failed_in_preflight(report, f"minio_go_toolchain_sha256['{arch}']", tmp_path)
    assert hashlib.sha256(_ToolchainProxy.body).hexdigest() in str(failures), failures
    assert not list(toolchain_dir.glob("*.zip")), "a zip that is not the pinned one was kept"


# Two storage hosts, both this controller: a distributed MinIO deployment.
CLUSTER_INVENTORY = """
all:
  children:
    mlflow_db: {hosts: {localhost: }}
    mlflow_storage: {hosts: {localhost: %s, peer: %s}}
    mlflow_server: {hosts: {localhost: }}
    mlflow_proxy: {hosts: {localhost: }}
  vars:
    ansible_connection: local
    ansible_python_interpreter: %s
"""
CLUSTER_CASES = {
    # 2 hosts x 1 drive.
    "fewer than 4 drives": ({}, {}, (), "minio_data_dirs"),
    "a drive that does not exist": (
        {"minio_data_dirs": ["/nonexistent/disk1", "/nonexistent/disk2"]},
        {"minio_data_dirs": ["/nonexistent/disk1", "/nonexistent/disk2"]}, (), "/nonexistent/disk1 (minio_data_dirs)",
    ),
    # The test's temporary directories are on the controller's root filesystem.
    "drives on the root filesystem": (
        "tmp", "tmp", (), "(minio_data_dirs) on localhost must be a directory on a drive",
    ),
    "different drives on the two hosts": (
        {"minio_data_dirs": ["/srv/minio/disk1", "/srv/minio/disk2"]},
        {"minio_data_dirs": ["/srv/minio/a", "/srv/minio/b"]}, (), "the same minio_data_dirs",
    ),
    # With its address in the inventory, as the address filters need for hosts outside the play.
    "a storage host left out by --limit": (
        {}, {"mlflow_stack_private_address": "192.0.2.2"}, ("--limit", "localhost"), "missing: peer",
    ),
}


@pytest.mark.parametrize("case", sorted(CLUSTER_CASES))
def test_distributed_minio_refused_in_preflight(case, tmp_path):
    """Bad distributed MinIO deployments stop in the preflight play (minio role, preflight_cluster.yml)."""
    local, peer, args, message = CLUSTER_CASES[case]
    if local == "tmp":
        drives = [str(tmp_path / "disk1"), str(tmp_path / "disk2")]
        for drive in drives:
            os.mkdir(drive)
        local = peer = {"minio_data_dirs": drives}
    host_vars = [json.dumps(value) if value else "" for value in (local, peer)]
    inventory = CLUSTER_INVENTORY % (host_vars[0], host_vars[1], sys.executable)
    assert_failed_in_preflight(run_site(tmp_path, {}, inventory, args), message, tmp_path)
