"""After a rotation, on an MLflow server host: old credentials are refused, the current ones work.

    systemd-run --wait --pipe --quiet --property=EnvironmentFile=/etc/mlflow/mlflow.env \
        /opt/mlflow/venv/bin/python credential_check.py --bucket B --prefix P   < old.json

old.json (on standard input, so no secret is on a command line): {"db_password": ..., "s3_secret_key":
..., "minio_root_user": ..., "minio_root_password": ...}. The current credentials are MLflow's: its
environment file, given to the process by systemd as to the server. Tries the database (SQLAlchemy,
the backend store URI with each password) and MinIO (boto3: MLflow's user with each secret key, and
the root user with the old password).
Prints one JSON object of booleans; exits 1 unless every old credential was refused and every
current one accepted.
"""

import argparse
import json
import os
import sys

import boto3
import sqlalchemy
from botocore.config import Config
from botocore.exceptions import ClientError


def db_accepts(uri, password):
    url = sqlalchemy.engine.make_url(uri).set(password=password)
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text("SELECT 1"))
        return True
    except sqlalchemy.exc.OperationalError:
        return False
    finally:
        engine.dispose()


def s3_accepts(env, access_key, secret_key, prefix):
    client = boto3.client(
        "s3",
        endpoint_url=env["MLFLOW_S3_ENDPOINT_URL"],
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name="us-east-1",
        verify=env.get("AWS_CA_BUNDLE", True),
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )
    try:
        client.list_objects_v2(Bucket=env["BUCKET"], Prefix=prefix, MaxKeys=1)
        return True
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"):
            return False
        raise


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--prefix", required=True)
    args = parser.parse_args()
    old = json.load(sys.stdin)
    env = dict(os.environ, BUCKET=args.bucket)
    uri = env["MLFLOW_BACKEND_STORE_URI"]
    prefix = args.prefix.rstrip("/") + "/"
    result = {
        "db_old_refused": not db_accepts(uri, old["db_password"]),
        "db_current_accepted": db_accepts(uri, sqlalchemy.engine.make_url(uri).password),
        "s3_old_refused": not s3_accepts(env, env["AWS_ACCESS_KEY_ID"], old["s3_secret_key"], prefix),
        "s3_current_accepted": s3_accepts(env, env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], prefix),
        "minio_root_old_refused": not s3_accepts(env, old["minio_root_user"], old["minio_root_password"], prefix),
    }
    print(json.dumps(result))
    sys.exit(0 if all(result.values()) else 1)


if __name__ == "__main__":
    main()
