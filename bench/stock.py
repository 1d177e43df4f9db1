"""A "stock" MLflow setup next to the deployed one, for the tracking benchmark (stdlib only; root).

    stock.py up --address ADDRESS --user USER --password-file FILE [--port 8443]
    stock.py down

The way docker-compose write-ups run MLflow behind nginx, on this host, for the time of a
benchmark:
  - a second `mlflow server` from the deployed venv with default flags (`--host 127.0.0.1
    --port 5055 --artifacts-destination s3://<bucket>/<prefix>/bench-stock`, nothing else: default
    workers, no keep-alive setting, the job runner as MLflow defaults it), on the same database
    and MinIO with the deployed server's credentials (read from /etc/mlflow/mlflow.env and handed
    over in an environment file, as a compose file's `environment:` would; telemetry off, since
    the benchmark talks to nothing outside the host);
  - an nginx server block with default proxy settings: TLS with the deployed certificate on
    ADDRESS:PORT, `auth_basic` with a file made by `htpasswd` with its defaults (apr1-MD5), and a
    plain `proxy_pass http://127.0.0.1:5055;` (HTTP/1.0 upstream, a new upstream connection per
    request, nginx's default buffering).
`down` removes every piece again (unit, files, nginx block) and reloads nginx: the host is left as
it was. `up` runs `down` first.
"""

import argparse
import base64
import os
import shlex
import ssl
import subprocess
import sys
import time
import urllib.request

UNIT = "onprem-mlflow-bench-stock.service"
PORT = 5055
STATE_DIR = "/run/onprem-mlflow-bench-stock"
ENV_FILE = STATE_DIR + "/stock.env"
HTPASSWD = "/etc/nginx/onprem-mlflow-bench-stock.htpasswd"
NGINX_SITE = "/etc/nginx/sites-enabled/onprem-mlflow-bench-stock.conf"
DEPLOYED_ENV = "/etc/mlflow/mlflow.env"
DEPLOYED_UNIT = "/etc/systemd/system/mlflow.service"
MLFLOW = "/opt/mlflow/venv/bin/mlflow"
PASSED_ON = ("MLFLOW_BACKEND_STORE_URI", "MLFLOW_S3_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
             "AWS_CA_BUNDLE")

SITE = """# onprem.mlflow bench: a stock nginx block in front of a stock mlflow server (bench/stock.py).
server {
    listen %(address)s:%(port)d ssl;
    ssl_certificate /etc/nginx/tls/server.crt;
    ssl_certificate_key /etc/nginx/tls/server.key;

    location / {
        auth_basic "MLflow";
        auth_basic_user_file %(htpasswd)s;
        proxy_pass http://127.0.0.1:%(upstream)d;
    }
}
"""


def run(argv, **kwargs):
    return subprocess.run(argv, check=True, **kwargs)


def read_env(path):
    values = {}
    with open(path) as handle:
        for line in handle:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                name, value = line.split("=", 1)
                parsed = shlex.split(value)
                values[name] = parsed[0] if parsed else ""
    return values


def artifacts_destination():
    """The deployed --artifacts-destination, with bench-stock appended (inside MLflow's S3 prefix)."""
    with open(DEPLOYED_UNIT) as handle:
        words = handle.read().split()
    return words[words.index("--artifacts-destination") + 1].rstrip("/") + "/bench-stock"


def reload_nginx():
    run(["nginx", "-t", "-q"])
    run(["systemctl", "reload", "nginx"])


def down():
    subprocess.run(["systemctl", "stop", UNIT], capture_output=True, check=False)
    subprocess.run(["systemctl", "reset-failed", UNIT], capture_output=True, check=False)
    changed_nginx = False
    for path in (NGINX_SITE, HTPASSWD):
        if os.path.exists(path):
            os.unlink(path)
            changed_nginx = True
    if os.path.exists(ENV_FILE):
        os.unlink(ENV_FILE)
    if os.path.isdir(STATE_DIR):
        os.rmdir(STATE_DIR)
    if changed_nginx:
        reload_nginx()


def wait_healthy(url, user, password, cafile, seconds):
    context = ssl.create_default_context(cafile=cafile)
    token = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
    request = urllib.request.Request(url, headers={"Authorization": "Basic " + token})
    deadline = time.time() + seconds
    while True:
        try:
            with urllib.request.urlopen(request, context=context, timeout=10) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.time() > deadline:
            logs = subprocess.run(["journalctl", "-u", UNIT, "-n", "30", "--no-pager"], capture_output=True, text=True,
                                  check=False)
            raise SystemExit("the stock server did not answer %s\n%s" % (url, logs.stdout))
        time.sleep(1)


def up(args):
    down()
    with open(args.password_file) as handle:
        password = handle.read().strip()
    deployed = read_env(DEPLOYED_ENV)
    os.makedirs(STATE_DIR, mode=0o700, exist_ok=True)
    fd = os.open(ENV_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        for name in PASSED_ON:
            if name in deployed:
                handle.write("%s=%s\n" % (name, shlex.quote(deployed[name])))
        handle.write("MLFLOW_DISABLE_TELEMETRY=true\nDO_NOT_TRACK=true\n")
    # htpasswd with its defaults (apr1-MD5); the password goes through stdin.
    run(["htpasswd", "-c", "-i", HTPASSWD, args.user], input=password + "\n", text=True, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    os.chmod(HTPASSWD, 0o640)
    run(["chgrp", "www-data", HTPASSWD])
    # systemd reads the environment file as root; the server runs as MLflow's user, in a private
    # /tmp (where a compose container would have its own) so that nothing is left behind.
    run(["systemd-run", "--quiet", "--unit", UNIT, "--uid", "mlflow", "--gid", "mlflow",
         "-p", "EnvironmentFile=" + ENV_FILE, "-p", "PrivateTmp=yes", "-p", "WorkingDirectory=/tmp",
         "-p", "Environment=HOME=/tmp",
         MLFLOW, "server", "--host", "127.0.0.1", "--port", str(PORT),
         "--artifacts-destination", artifacts_destination()])
    with open(NGINX_SITE, "w") as handle:
        handle.write(SITE % {"address": args.address, "port": args.port, "htpasswd": HTPASSWD, "upstream": PORT})
    reload_nginx()
    wait_healthy("https://%s:%d/health" % (args.address, args.port), args.user, password, args.cafile, args.wait)
    print("stock setup up: https://%s:%d -> mlflow server 127.0.0.1:%d" % (args.address, args.port, PORT))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["up", "down"])
    parser.add_argument("--address")
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument("--user")
    parser.add_argument("--password-file")
    parser.add_argument("--cafile", default="/etc/onprem-mlflow/ca.crt")
    parser.add_argument("--wait", type=float, default=180)
    args = parser.parse_args()
    if args.action == "up":
        if not (args.address and args.user and args.password_file):
            parser.error("up needs --address, --user and --password-file")
        up(args)
    else:
        down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
