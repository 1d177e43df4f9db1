"""Check on an MLflow server host that an artifact object is in MinIO, read with boto3 directly.

    s3_object_check.py --env-file /etc/mlflow/mlflow.env --bucket B --key K --sha256 H --size N
    s3_object_check.py --env-file /etc/mlflow/mlflow.env --bucket B --key K --absent

The S3 endpoint and keys come from the MLflow env file (the same ones the server uses), so no
secret passes through Ansible's command line. Prints one JSON object; exits 1 on a mismatch.
"""

import argparse
import hashlib
import json
import sys

import boto3
from botocore.config import Config


def read_env_file(path):
    values = {}
    with open(path) as handle:
        for line in handle:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            name, value = line.split("=", 1)
            values[name.strip()] = value.strip().strip('"').strip("'")
    return values


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--env-file", required=True)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--sha256")
    parser.add_argument("--size", type=int)
    parser.add_argument("--absent", action="store_true", help="the object must not exist")
    args = parser.parse_args()
    if not args.absent and (args.sha256 is None or args.size is None):
        parser.error("--sha256 and --size are required unless --absent")

    env = read_env_file(args.env_file)
    s3 = boto3.client(
        "s3",
        endpoint_url=env["MLFLOW_S3_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env.get("AWS_DEFAULT_REGION", "us-east-1"),
        verify=env.get("AWS_CA_BUNDLE", True),  # MinIO over TLS: the CA MLflow trusts
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    if args.absent:
        found = s3.list_objects_v2(Bucket=args.bucket, Prefix=args.key).get("KeyCount", 0)
        print(json.dumps({"bucket": args.bucket, "key": args.key, "objects": found, "ok": found == 0}))
        sys.exit(0 if found == 0 else 1)
    head = s3.head_object(Bucket=args.bucket, Key=args.key)
    digest = hashlib.sha256()
    body = s3.get_object(Bucket=args.bucket, Key=args.key)["Body"]
    for chunk in iter(lambda: body.read(1024 * 1024), b""):
        digest.update(chunk)
    result = {
        "bucket": args.bucket,
        "key": args.key,
        "size": head["ContentLength"],
        "sha256": digest.hexdigest(),
    }
    result["ok"] = result["size"] == args.size and result["sha256"] == args.sha256
    print(json.dumps(result))
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
