# -*- coding: utf-8 -*-
# Copyright: onprem.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""MinIO admin API side of onprem.mlflow.minio_user and onprem.mlflow.minio_heal.

Four parts (the heal results are read in module_utils/minio_heal.py):

* the request encryption of MinIO's admin API (madmin ``EncryptData``), written from the format:
  ``salt (32) | algorithm id (1) | nonce (8) | sio DARE stream``, the key derived from the secret
  key of the requesting (root) account;
* IAM policy helpers: the policy that allows one bucket (and key prefix) only, validation and a
  semantic comparison (pure);
* the user planner (pure);
* a small admin client: SigV4-signed requests (botocore) to ``/minio/admin/v3/...`` and the
  read-only check of a user's secret key through S3 ``ListBuckets``.

Only libraries Debian packages are used: botocore (python3-botocore), cryptography
(python3-cryptography) and, when present, argon2-cffi (python3-argon2).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import re
import struct
from urllib.parse import quote

try:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - depends on the host
    AESGCM = ChaCha20Poly1305 = None
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = exc

try:
    from argon2.low_level import Type as _Argon2Type
    from argon2.low_level import hash_secret_raw as _argon2_hash_secret_raw
    HAS_ARGON2 = True
except ImportError:  # pragma: no cover - depends on the host
    _Argon2Type = _argon2_hash_secret_raw = None
    HAS_ARGON2 = False

try:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    from botocore.exceptions import ClientError
    from botocore.httpsession import URLLib3Session
    from botocore.utils import get_environ_proxies
    HAS_BOTOCORE = True
    BOTOCORE_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - depends on the host
    HAS_BOTOCORE = False
    BOTOCORE_IMPORT_ERROR = exc
    ClientError = Exception


# --------------------------------------------------------------------------
# Request encryption (madmin EncryptData / sio DARE)
# --------------------------------------------------------------------------

#: Algorithm ids of the header byte: the key derivation and the AEAD of the stream.
ARGON2ID_AES_GCM = 0x00
ARGON2ID_CHACHA20_POLY1305 = 0x01
PBKDF2_AES_GCM = 0x02

SALT_LEN = 32
NONCE_LEN = 8
TAG_LEN = 16
KEY_LEN = 32
#: Plaintext bytes per fragment of the stream (sio BufSize).
BUF_SIZE = 1 << 14
HEADER_LEN = SALT_LEN + 1 + NONCE_LEN

ARGON2_TIME = 1
ARGON2_MEMORY_KIB = 64 * 1024
ARGON2_THREADS = 4
PBKDF2_ITERATIONS = 8192

_FINAL = b'\x80'
_NOT_FINAL = b'\x00'


def default_algorithm():
    """Argon2id + AES-256-GCM (what madmin uses) when argon2-cffi is there, else PBKDF2-SHA256 + AES-256-GCM.

    MinIO decrypts both; the second needs no library beyond the standard one and cryptography.
    """
    return ARGON2ID_AES_GCM if HAS_ARGON2 else PBKDF2_AES_GCM


def derive_key(password, salt, algorithm):
    """The 32-byte stream key madmin derives from ``password`` and ``salt`` for ``algorithm``."""
    if not isinstance(password, bytes):
        password = password.encode('utf-8')
    if algorithm in (ARGON2ID_AES_GCM, ARGON2ID_CHACHA20_POLY1305):
        if not HAS_ARGON2:
            raise ValueError('argon2-cffi (Debian: python3-argon2) is needed for Argon2id')
        return _argon2_hash_secret_raw(secret=password, salt=salt, time_cost=ARGON2_TIME,
                                       memory_cost=ARGON2_MEMORY_KIB, parallelism=ARGON2_THREADS,
                                       hash_len=KEY_LEN, type=_Argon2Type.ID)
    if algorithm == PBKDF2_AES_GCM:
        return hashlib.pbkdf2_hmac('sha256', password, salt, PBKDF2_ITERATIONS, KEY_LEN)
    raise ValueError('unknown encryption algorithm id %r' % algorithm)


def _fragment_nonce(nonce, sequence):
    return nonce + struct.pack('<I', sequence)


def sio_seal(key, nonce, plaintext, associated_data=b'', buf_size=BUF_SIZE):
    """Encrypt ``plaintext`` as one sio (DARE) stream with AES-GCM.

    The AEAD nonce of fragment ``i`` is ``nonce || uint32_le(i)``. Fragment 0 encrypts nothing: its
    tag, over ``associated_data``, becomes the stream's own associated data ``flag || tag`` for the
    data fragments 1..n, each of up to ``buf_size`` plaintext bytes; ``flag`` is 0x80 for the last
    fragment, 0x00 for the others. An empty plaintext still gives one (final) fragment.
    """
    if len(nonce) != NONCE_LEN:
        raise ValueError('the stream nonce must be %d bytes' % NONCE_LEN)
    aead = AESGCM(key)
    stream_tag = aead.encrypt(_fragment_nonce(nonce, 0), b'', associated_data)
    chunks = [plaintext[i:i + buf_size] for i in range(0, len(plaintext), buf_size)] or [b'']
    out = []
    for sequence, chunk in enumerate(chunks, 1):
        flag = _FINAL if sequence == len(chunks) else _NOT_FINAL
        out.append(aead.encrypt(_fragment_nonce(nonce, sequence), chunk, flag + stream_tag))
    return b''.join(out)


def encrypt_data(password, data, algorithm=None, salt=None, nonce=None):
    """madmin ``EncryptData``: ``salt | algorithm id | nonce | sio stream of data``.

    ``password`` is the secret key of the account that signs the request. ``salt`` and ``nonce`` are
    random unless given (tests only).
    """
    if algorithm is None:
        algorithm = default_algorithm()
    if algorithm not in (ARGON2ID_AES_GCM, PBKDF2_AES_GCM):
        raise ValueError('only the AES-GCM algorithm ids 0 and 2 are written, not %r' % algorithm)
    salt = os.urandom(SALT_LEN) if salt is None else salt
    nonce = os.urandom(NONCE_LEN) if nonce is None else nonce
    if len(salt) != SALT_LEN:
        raise ValueError('the salt must be %d bytes' % SALT_LEN)
    key = derive_key(password, salt, algorithm)
    return salt + bytes([algorithm]) + nonce + sio_seal(key, nonce, data)


def sio_open(aead, nonce, stream, associated_data=b'', buf_size=BUF_SIZE):
    """Decrypt one sio stream (the inverse of :func:`sio_seal`, for any AEAD of 12-byte nonces).

    Raises ``cryptography.exceptions.InvalidTag`` when a fragment was altered, reordered or cut off.
    """
    stream_tag = aead.encrypt(_fragment_nonce(nonce, 0), b'', associated_data)
    size = buf_size + TAG_LEN
    fragments = [stream[i:i + size] for i in range(0, len(stream), size)] or [b'']
    out = []
    for sequence, fragment in enumerate(fragments, 1):
        flag = _FINAL if sequence == len(fragments) else _NOT_FINAL
        out.append(aead.decrypt(_fragment_nonce(nonce, sequence), fragment, flag + stream_tag))
    return b''.join(out)


def decrypt_data(password, data):
    """madmin ``DecryptData``: what MinIO encrypted with the secret key of the requesting account."""
    if len(data) < HEADER_LEN + TAG_LEN:
        raise ValueError('the encrypted answer is too short (%d bytes)' % len(data))
    salt, algorithm, nonce = data[:SALT_LEN], data[SALT_LEN], data[SALT_LEN + 1:HEADER_LEN]
    key = derive_key(password, salt, algorithm)
    aead = ChaCha20Poly1305(key) if algorithm == ARGON2ID_CHACHA20_POLY1305 else AESGCM(key)
    return sio_open(aead, nonce, data[HEADER_LEN:])


# --------------------------------------------------------------------------
# Names and secrets (MinIO's own rules)
# --------------------------------------------------------------------------

def access_key_error(name):
    """Why MinIO would refuse ``name`` as the access key of a new user, or None."""
    if not name:
        return 'it must not be empty'
    if len(name) < 3:
        return 'it must have at least 3 characters'
    if name != name.strip():
        return 'it must not begin or end with white space'
    if '=' in name or ',' in name:
        return "'=' and ',' are reserved"
    return None


def policy_name_error(name):
    if not name:
        return 'it must not be empty'
    if name != name.strip():
        return 'it must not begin or end with white space'
    if ',' in name:
        return "',' is reserved"
    return None


def secret_key_error(secret):
    if secret is None or len(secret) < 8:
        return 'it must have at least 8 characters'
    return None


# --------------------------------------------------------------------------
# IAM policies
# --------------------------------------------------------------------------

POLICY_VERSION = '2012-10-17'
_VERSIONS = ('2012-10-17', '2008-10-17')
#: Object actions of the prefix policy (S3 calls of MLflow's artifact store, multipart uploads included).
OBJECT_ACTIONS = ('s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload',
                  's3:ListMultipartUploadParts')
_PREFIX_FORBIDDEN = re.compile(r'[*?$]')


def clean_prefix(prefix):
    """``prefix`` without leading and trailing slashes; wildcards and policy variables are refused."""
    prefix = (prefix or '').strip('/')
    if _PREFIX_FORBIDDEN.search(prefix):
        raise ValueError('Invalid prefix %r: the characters *, ? and $ are not allowed (they would widen '
                         'the policy)' % prefix)
    if '//' in prefix:
        raise ValueError('Invalid prefix %r: empty path segment' % prefix)
    return prefix


def prefix_policy(bucket, prefix=None):
    """IAM policy allowing one bucket, or only the keys under ``prefix/`` of it.

    * ``s3:GetBucketLocation`` on the bucket;
    * ``s3:ListBucket`` on the bucket, restricted with ``StringLike s3:prefix`` to ``prefix`` and
      ``prefix/*`` when a prefix is given;
    * :data:`OBJECT_ACTIONS` on ``arn:aws:s3:::bucket/prefix/*`` (``bucket/*`` without a prefix).

    The bucket name is not validated here: see ``s3.validate_bucket_name``.
    """
    prefix = clean_prefix(prefix)
    bucket_arn = 'arn:aws:s3:::%s' % bucket
    listing = dict(Effect='Allow', Action=['s3:ListBucket'], Resource=[bucket_arn])
    if prefix:
        listing['Condition'] = {'StringLike': {'s3:prefix': [prefix, prefix + '/*']}}
        objects = '%s/%s/*' % (bucket_arn, prefix)
    else:
        objects = bucket_arn + '/*'
    return {
        'Version': POLICY_VERSION,
        'Statement': [
            dict(Effect='Allow', Action=['s3:GetBucketLocation'], Resource=[bucket_arn]),
            listing,
            dict(Effect='Allow', Action=list(OBJECT_ACTIONS), Resource=[objects]),
        ],
    }


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple, set)):
        return list(value)
    return [value]


def _scalar(value):
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return value if isinstance(value, str) else str(value)


def _value_set(value):
    return sorted({_scalar(v) for v in _as_list(value)})


def _statements(document):
    statements = document.get('Statement')
    if isinstance(statements, dict):
        statements = [statements]
    return statements


def validate_policy(document):
    """Check the shape MinIO insists on; return the document. Raises ValueError."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError as exc:
            raise ValueError('The policy is not valid JSON: %s' % exc) from exc
    if not isinstance(document, dict):
        raise ValueError('The policy must be a JSON object, not %s' % type(document).__name__)
    version = document.get('Version')
    if version is None or _scalar(version) not in _VERSIONS:
        raise ValueError('The policy needs "Version": "%s" (got %r)' % (POLICY_VERSION, version))
    statements = _statements(document)
    if not isinstance(statements, list) or not statements:
        raise ValueError('The policy needs a non-empty "Statement" list')
    for index, statement in enumerate(statements):
        if not isinstance(statement, dict):
            raise ValueError('Statement %d of the policy is not an object' % index)
        if statement.get('Effect') not in ('Allow', 'Deny'):
            raise ValueError('Statement %d of the policy needs "Effect": "Allow" or "Deny"' % index)
        if not (statement.get('Action') or statement.get('NotAction')):
            raise ValueError('Statement %d of the policy has no "Action"' % index)
    return document


def _normalize_statement(statement):
    out = {}
    for key, value in statement.items():
        if key == 'Sid':
            continue  # a label, no meaning for access
        if key in ('Action', 'NotAction', 'Resource', 'NotResource'):
            out[key] = _value_set(value)
        elif key == 'Condition':
            conditions = {}
            for operator, entries in (value or {}).items():
                if entries:
                    conditions[operator] = {k: _value_set(v) for k, v in entries.items()}
            if conditions:
                out[key] = conditions
        elif key in ('Principal', 'NotPrincipal'):
            if isinstance(value, dict):
                out[key] = {k: _value_set(v) for k, v in value.items()}
            else:
                out[key] = {'AWS': _value_set(value)}
        else:
            out[key] = value
    return out


def normalize_policy(document):
    """Canonical form of a policy: scalars as sorted sets, statements sorted and unique, no ``Sid``.

    Two policies with the same canonical form grant the same access (the comparison is on meaning,
    not on JSON text: order, one-element lists versus strings and duplicates do not matter).
    """
    if document is None:
        return None
    if isinstance(document, str):
        document = json.loads(document)
    seen = {}
    for statement in _statements(document) or []:
        canonical = _normalize_statement(statement)
        seen[json.dumps(canonical, sort_keys=True)] = canonical
    version = document.get('Version')
    return {'Version': _scalar(version) if version is not None else None,
            'Statement': [seen[k] for k in sorted(seen)]}


def policies_equal(first, second):
    return normalize_policy(first) == normalize_policy(second)


# --------------------------------------------------------------------------
# Planner
# --------------------------------------------------------------------------

def parse_policy_names(value):
    """user-info's ``policyName`` (comma-separated) as a sorted list."""
    if not value:
        return []
    names = value if isinstance(value, list) else value.split(',')
    return sorted({n.strip() for n in names if n and n.strip()})


def plan_user(actual, wanted):
    """Decide what to do with a MinIO user and its policy.

    ``actual``: ``{'exists': bool, 'status': 'enabled'|'disabled'|None, 'policies': [names],
    'secret_matches': bool|None (None when it could not be checked), 'policy_document': dict|None
    (the canned policy as stored, None when it does not exist or is not read)}``.

    ``wanted``: ``{'name', 'state', 'policy_name': str|None, 'policy_document': dict|None}``;
    ``policy_document`` set means the canned policy ``policy_name`` is managed (created or updated).

    Returns ``{'actions': [...], 'detach': [...], 'before': {...}, 'after': {...}}`` with actions among
    ``create_policy``, ``update_policy``, ``create_user``, ``enable_user``, ``set_secret``,
    ``detach_policies``, ``attach_policy``, ``remove_user`` in the order they are applied.
    """
    name = wanted['name']
    policy_name = wanted.get('policy_name')
    exists = bool(actual['exists'])
    before = dict(name=name, exists=exists,
                  status=actual.get('status') if exists else None,
                  policies=sorted(actual.get('policies') or []) if exists else [],
                  secret_matches=actual.get('secret_matches') if exists else None)
    managed_document = wanted.get('policy_document')
    if managed_document is not None:
        current = actual.get('policy_document')
        before['policy'] = dict(name=policy_name, exists=current is not None,
                                document=normalize_policy(current))
    after = json.loads(json.dumps(before))
    actions = []
    detach = []

    if wanted['state'] == 'absent':
        if exists:
            actions.append('remove_user')
            after.update(exists=False, status=None, policies=[], secret_matches=None)
        return dict(actions=actions, detach=detach, before=before, after=after)

    if managed_document is not None:
        if not before['policy']['exists']:
            actions.append('create_policy')
        elif not policies_equal(actual.get('policy_document'), managed_document):
            actions.append('update_policy')
        after['policy'] = dict(name=policy_name, exists=True, document=normalize_policy(managed_document))

    if not exists:
        actions.append('create_user')
    else:
        if actual.get('status') != 'enabled':
            actions.append('enable_user')
        if actual.get('secret_matches') is not True:
            # A disabled user cannot sign requests: its secret key cannot be checked and is set again.
            actions.append('set_secret')
    after.update(exists=True, status='enabled', secret_matches=True)

    if policy_name:
        detach = sorted(p for p in after['policies'] if p != policy_name)
        if detach:
            actions.append('detach_policies')
        if policy_name not in after['policies']:
            actions.append('attach_policy')
        after['policies'] = [policy_name]
    return dict(actions=actions, detach=detach, before=before, after=after)


# --------------------------------------------------------------------------
# Admin client
# --------------------------------------------------------------------------

class MinioAdminError(Exception):
    """An admin API call answered with an error status."""

    def __init__(self, status, code, message, command):
        self.status = status
        self.code = code
        self.message = message
        self.command = command
        super().__init__('MinIO admin %s answered %s %s: %s' % (command, status, code or '', message))


def _query_string(query):
    """AWS-style encoded query (RFC 3986 unreserved kept), sorted as SigV4 wants it."""
    return '&'.join('%s=%s' % (quote(str(k), safe='-_.~'), quote(str(v), safe='-_.~'))
                    for k, v in sorted(query.items()))


def verify_setting(params):
    """TLS verification for botocore: the CA bundle path, else validate_certs (same as s3_client)."""
    return params['ca_bundle'] if params.get('ca_bundle') else bool(params.get('validate_certs', True))


class MinioAdmin(object):
    """Client of the MinIO admin API v3 signed with the root (or an admin) account."""

    def __init__(self, endpoint_url, access_key, secret_key, region='us-east-1', verify=True, timeout=60,
                 algorithm=None):
        self.endpoint_url = endpoint_url.rstrip('/')
        self.secret_key = secret_key
        self.region = region or 'us-east-1'
        self.algorithm = algorithm
        self._credentials = Credentials(access_key, secret_key)
        self._session = URLLib3Session(verify=verify, timeout=timeout,
                                       proxies=get_environ_proxies(self.endpoint_url))

    def request(self, method, command, query=None, body=b'', response_headers=None):
        url = '%s/minio/admin/v3/%s' % (self.endpoint_url, command)
        if query:
            url += '?' + _query_string(query)
        headers = {
            'Content-Type': 'application/octet-stream',
            'X-Amz-Content-SHA256': hashlib.sha256(body).hexdigest(),
        }
        request = AWSRequest(method=method, url=url, data=body, headers=headers)
        SigV4Auth(self._credentials, 's3', self.region).add_auth(request)
        response = self._session.send(request.prepare())
        if response.status_code in (200, 204):
            if response_headers is not None:
                response_headers.update((k.lower(), v) for k, v in response.headers.items())
            return response.content
        code, message = None, response.content.decode('utf-8', 'replace').strip()
        try:
            error = json.loads(message)
            code, message = error.get('Code'), error.get('Message') or message
        except ValueError:
            match = re.search(r'<Code>([^<]+)</Code>', message)
            code = match.group(1) if match else None
        raise MinioAdminError(response.status_code, code, message[:500], command)

    def encrypt(self, document):
        return self.encrypt_text(json.dumps(document))

    # users
    def user_info(self, name):
        """user-info as a dict (``status``, ``policyName``, ...), or None when the user does not exist."""
        try:
            return json.loads(self.request('GET', 'user-info', dict(accessKey=name)))
        except MinioAdminError as exc:
            if exc.code == 'XMinioAdminNoSuchUser':
                return None
            raise

    def add_user(self, name, secret_key):
        """Create the user, or set its secret key and enable it (the body is encrypted)."""
        self.request('PUT', 'add-user', dict(accessKey=name),
                     self.encrypt(dict(secretKey=secret_key, status='enabled')))

    def remove_user(self, name):
        self.request('DELETE', 'remove-user', dict(accessKey=name))

    # canned policies
    def policy_info(self, name):
        """The policy document, or None when no canned policy has this name."""
        try:
            info = json.loads(self.request('GET', 'info-canned-policy', dict(name=name, v='2')))
        except MinioAdminError as exc:
            if exc.code == 'XMinioAdminNoSuchPolicy':
                return None
            raise
        return info.get('Policy')

    def set_policy(self, name, document):
        self.request('PUT', 'add-canned-policy', dict(name=name), json.dumps(document).encode('utf-8'))

    def attach_policies(self, user, names):
        self.request('POST', 'idp/builtin/policy/attach', body=self.encrypt(dict(policies=list(names), user=user)))

    def detach_policies(self, user, names):
        self.request('POST', 'idp/builtin/policy/detach', body=self.encrypt(dict(policies=list(names), user=user)))

    # server configuration (madmin GetConfigKV / SetConfigKV): both ways encrypted with the secret key
    def get_config(self, subsystem):
        """The text of get-config-kv for ``subsystem``: ``# MINIO_...=...`` lines, then ``<subsystem> k=v ...``."""
        answer = self.request('GET', 'get-config-kv', dict(key=subsystem))
        return decrypt_data(self.secret_key, answer).decode('utf-8')

    def set_config(self, line):
        """set-config-kv of one ``<subsystem> k=v ...`` line; True when MinIO applied it without a restart."""
        headers = {}
        self.request('PUT', 'set-config-kv', body=self.encrypt_text(line), response_headers=headers)
        return headers.get('x-minio-config-applied', '').lower() == 'true'

    def encrypt_text(self, text):
        return encrypt_data(self.secret_key, text.encode('utf-8'), algorithm=self.algorithm)

    # heal sequences (madmin Heal): started without a client token, then polled with the token it returns
    def heal(self, bucket='', prefix='', options=None, client_token=None, force_stop=False):
        """Start a heal sequence (``options``: HealOpts), poll it (``client_token``) or stop it (``force_stop``).

        The answer is a dict: HealStartSuccess when starting or stopping, HealTaskStatus when polling. MinIO
        may send whitespace first to keep a long start alive; JSON ignores it.
        """
        command = 'heal/' + quote(bucket or '', safe='')
        if bucket and prefix:
            command += '/' + quote(prefix, safe='/-_.~')
        query = {}
        body = b''
        if client_token:
            query['clientToken'] = client_token
        elif force_stop:
            query['forceStop'] = 'true'
        else:
            body = json.dumps(options or {}).encode('utf-8')
        return json.loads(self.request('POST', command, query, body) or b'{}')


#: S3 error codes of a signature made with a wrong secret key, or with an unknown or disabled access key.
BAD_CREDENTIAL_CODES = ('SignatureDoesNotMatch', 'InvalidAccessKeyId', 'InvalidClientTokenId')


def secret_key_works(client):
    """Whether the credentials of the boto3 S3 ``client`` are accepted, by a read-only ``ListBuckets``.

    Any answer past the signature check (a list, or AccessDenied) proves the secret key; a signature
    mismatch or an unknown (or disabled) access key disproves it. Other errors are raised.
    """
    try:
        client.list_buckets()
    except ClientError as exc:
        code = exc.response.get('Error', {}).get('Code')
        if code in BAD_CREDENTIAL_CODES:
            return False
        if code == 'AccessDenied':
            return True
        raise
    return True
