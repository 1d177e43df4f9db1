# -*- coding: utf-8 -*-
# Copyright: onprem.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Connection options of the modules that talk to the MLflow tracking server's REST API."""

    DOCUMENTATION = r'''
options:
  tracking_uri:
    description:
      - URL of the MLflow tracking server, for example V(https://mlflow.example.internal) (the stack's nginx).
      - When omitted, the environment variable E(MLFLOW_TRACKING_URI) is used, as the MLflow client does;
        the C(client.env) the stack writes sets it. One of them must be set.
      - Must not hold credentials; use O(username) and O(password).
    type: str
  username:
    description:
      - User of the server's HTTP basic authentication.
      - When omitted, E(MLFLOW_TRACKING_USERNAME) is used; without either, no credentials are sent.
    type: str
  password:
    description:
      - Password of O(username).
      - When omitted, E(MLFLOW_TRACKING_PASSWORD) is used.
    type: str
  ca_path:
    description:
      - PEM file of the CA that signed the server's certificate (the stack's C(ca.crt)).
      - When omitted, E(MLFLOW_TRACKING_SERVER_CERT_PATH) is used; without either, the system's CA certificates.
    type: path
  validate_certs:
    description:
      - Verify the server's TLS certificate.
      - When omitted, V(false) if E(MLFLOW_TRACKING_INSECURE_TLS) is true, else V(true).
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for each answer of the server.
    type: int
    default: 60
notes:
  - Talks to the REST API with Ansible's own HTTP client; neither C(mlflow) nor C(requests) is needed
    (so E(REQUESTS_CA_BUNDLE) does not apply; use O(ca_path)).
'''
