"""Check on an MLflow server host that MLflow's MinIO keys reach its artifact prefix only.

    s3_isolation_check.py --env-file /etc/mlflow/mlflow.env --root-keys FILE
                          --bucket B --prefix P --other-bucket O

--root-keys holds MinIO's root access key and secret key, one per line (copied from the
controller's credentials dir for this check, then removed). With the root keys: create bucket O
(if missing) and put one object in it. With MLflow's keys (AWS_* in the env file, the ones the
server uses): listing O and putting into O must be denied (AccessDenied); putting and deleting an
object under B/P must work. Prints one JSON object with each outcome; exits 1 on any unexpected
one.
"""

import argparse
import json
import sys
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


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


def client(endpoint, access_key, secret_key, region, ca_bundle):
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                        region_name=region, verify=ca_bundle,
                        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))


def outcome(call):
    try:
        call()
        return "allowed"
    except ClientError as error:
        return error.response.get("Error", {}).get("Code", "ClientError")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--env-file", required=True)
    parser.add_argument("--root-keys", required=True)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--other-bucket", required=True)
    args = parser.parse_args()
    env = read_env_file(args.env_file)
    region = env.get("AWS_DEFAULT_REGION", "us-east-1")
    ca_bundle = env.get("AWS_CA_BUNDLE", True)  # MinIO over TLS: the CA MLflow trusts
    with open(args.root_keys) as handle:
        root_access, root_secret = handle.read().split()[:2]
    root = client(env["MLFLOW_S3_ENDPOINT_URL"], root_access, root_secret, region, ca_bundle)
    mlflow = client(env["MLFLOW_S3_ENDPOINT_URL"], env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], region,
                    ca_bundle)

    if outcome(lambda: root.head_bucket(Bucket=args.other_bucket)) != "allowed":
        root.create_bucket(Bucket=args.other_bucket)
    root.put_object(Bucket=args.other_bucket, Key="root-only.txt", Body=b"written with the root keys\n")

    key = "%s/molecule-isolation-%d.txt" % (args.prefix.strip("/"), int(time.time()))
    result = {
        "mlflow_keys_differ_from_root": env["AWS_ACCESS_KEY_ID"] != root_access,
        "list_other_bucket": outcome(lambda: mlflow.list_objects_v2(Bucket=args.other_bucket)),
        "read_other_bucket": outcome(lambda: mlflow.get_object(Bucket=args.other_bucket, Key="root-only.txt")),
        "put_other_bucket": outcome(lambda: mlflow.put_object(Bucket=args.other_bucket, Key="x.txt", Body=b"x")),
        "put_artifacts_prefix": outcome(lambda: mlflow.put_object(Bucket=args.bucket, Key=key, Body=b"x")),
    }
    result["delete_artifacts_prefix"] = outcome(lambda: mlflow.delete_object(Bucket=args.bucket, Key=key))
    expected = {
        "mlflow_keys_differ_from_root": True,
        "list_other_bucket": "AccessDenied",
        "read_other_bucket": "AccessDenied",
        "put_other_bucket": "AccessDenied",
        "put_artifacts_prefix": "allowed",
        "delete_artifacts_prefix": "allowed",
    }
    result["unexpected"] = {name: result[name] for name, want in expected.items() if result[name] != want}
    result["ok"] = not result["unexpected"]
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
