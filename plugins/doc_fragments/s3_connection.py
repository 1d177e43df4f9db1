# -*- coding: utf-8 -*-
# Copyright: onprem.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Connection options of the modules that talk to an S3 API (MinIO)."""

    DOCUMENTATION = r'''
options:
  endpoint_url:
    description:
      - URL of the S3 API, for example V(http://127.0.0.1:9000) for a local MinIO.
    type: str
    required: true
  access_key:
    description:
      - Access key (MinIO root user or a user allowed to manage buckets).
    type: str
    required: true
  secret_key:
    description:
      - Secret key that belongs to O(access_key).
    type: str
    required: true
  region:
    description:
      - Region used to sign requests and to create buckets.
    type: str
    default: us-east-1
  validate_certs:
    description:
      - Verify the TLS certificate of an HTTPS O(endpoint_url).
    type: bool
    default: true
  ca_bundle:
    description:
      - PEM file of the CA that signed the certificate of O(endpoint_url). Implies certificate validation.
    type: path
requirements:
  - boto3 on the host that runs the module.
'''
