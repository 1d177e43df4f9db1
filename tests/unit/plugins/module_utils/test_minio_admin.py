# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import struct

import pytest
from argon2.low_level import Type, hash_secret_raw
from botocore.exceptions import ClientError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ansible_collections.onprem.mlflow.plugins.module_utils import minio_admin as m

# --------------------------------------------------------------------------
# Encryption
# --------------------------------------------------------------------------

# Vectors of the reference implementation (secure-io/sio-go test_vectors.json, AES-GCM entries):
# key, nonce, associated data, plaintext, ciphertext (hex), buffer size.
SIO_VECTORS = [
    ('00000000000000000000000000000000', '0000000000000000', '', '', 'e0247a864e783cecb1f7996c13cd3f64', 16),
    ('10000000000000000000000000000000', '1000000000000000', '00', '00', '61ed193d12a2adf6f1c41f31de4ead6c5c', 16),
    ('10000000000000000000000000000000', '0000000000000002', '', '00' * 17,
     '691deb7b9ccbee91f48d12c7ad5fe3cd4e1e5e7d394f06b91228ec9a5dd2456ac7de9502a0b4010fb1ee1db94e940458fb', 16),
    ('000102030405060708090a0b0c0d0e0f', '0001020304050607', '0102030405060708090a0b0c0d0e0f10', '00' * 32,
     'beffe57efbdadb693b5545d58454ba746c5362c6f37b65da457d85bfe6af8972'
     'cfea267b03f14aedf25e7501e88c0d79f5440d0ac49e5c4fdaab4dfac9aec4d3', 16),
    ('31dd758d120fd5d30063921a21f723be', 'd3794fe387018e32',
     '1d838b6e861ea7576de110e08818de82a27337a99db7b95aa95c3347971ad4cfa0ef0960d6645f5a64f88c7d',
     'd0ae0d85e93ed6be853ded2031643116a03215b4fda224d2986d7233039aa47e91b686f4',
     'a6fe911b94e0b25a25bf6da71f28ad6a6b6920be01589e9194226f77c164606545d5cbdb76c99415b468c54517f5a8bc8d'
     'c8ac13b1b4285fe36f37f7884d5e4bfb32ecef56b4026bf02bfb1d4fce222e01ef9db9', 17),
]


@pytest.mark.parametrize('key, nonce, ad, plaintext, ciphertext, buf_size', SIO_VECTORS)
def test_sio_stream_matches_reference_vectors(key, nonce, ad, plaintext, ciphertext, buf_size):
    out = m.sio_seal(bytes.fromhex(key), bytes.fromhex(nonce), bytes.fromhex(plaintext), bytes.fromhex(ad),
                     buf_size=buf_size)
    assert out.hex() == ciphertext


def decrypt(password, blob, buf_size=m.BUF_SIZE):
    """madmin DecryptData written from the format, independently of the module's code:
    salt(32) | id(1) | nonce(8) | fragments of buf_size plaintext bytes + a 16-byte tag each."""
    salt, algorithm, nonce, stream = blob[:32], blob[32], blob[33:41], blob[41:]
    if algorithm == 0x00:
        key = hash_secret_raw(password.encode(), salt, time_cost=1, memory_cost=64 * 1024, parallelism=4,
                              hash_len=32, type=Type.ID, version=19)
    elif algorithm == 0x02:
        key = hashlib.pbkdf2_hmac('sha256', password.encode(), salt, 8192, 32)
    else:
        raise AssertionError('unexpected algorithm id %d' % algorithm)
    aead = AESGCM(key)
    stream_tag = aead.encrypt(nonce + struct.pack('<I', 0), b'', None)
    size = buf_size + 16
    fragments = [stream[i:i + size] for i in range(0, len(stream), size)]
    plain = b''
    for index, fragment in enumerate(fragments):
        flag = b'\x80' if index == len(fragments) - 1 else b'\x00'
        plain += aead.decrypt(nonce + struct.pack('<I', index + 1), fragment, flag + stream_tag)
    return plain


@pytest.mark.parametrize('algorithm', [m.ARGON2ID_AES_GCM, m.PBKDF2_AES_GCM])
@pytest.mark.parametrize('size', [0, 1, m.BUF_SIZE, m.BUF_SIZE + 1, 3 * m.BUF_SIZE + 5])
def test_encrypt_round_trip(algorithm, size):
    payload = (b'{"secretKey":"s3cr3t-value","status":"enabled"}' * (size // 40 + 1))[:size]
    blob = m.encrypt_data('root-secret', payload, algorithm=algorithm)
    fragments = max(1, -(-size // m.BUF_SIZE))
    assert len(blob) == m.HEADER_LEN + size + 16 * fragments
    assert blob[32] == algorithm
    assert decrypt('root-secret', blob) == payload
    with pytest.raises(InvalidTag):
        decrypt('other-secret', blob)


def test_encrypt_layout_with_fixed_salt_and_nonce():
    salt, nonce = bytes(range(32)), b'\x01' * 8
    blob = m.encrypt_data('pw', b'hello', algorithm=m.PBKDF2_AES_GCM, salt=salt, nonce=nonce)
    assert blob[:32] == salt and blob[32] == 0x02 and blob[33:41] == nonce
    assert blob == m.encrypt_data('pw', b'hello', algorithm=m.PBKDF2_AES_GCM, salt=salt, nonce=nonce)
    assert blob != m.encrypt_data('pw', b'hello', algorithm=m.PBKDF2_AES_GCM)  # random salt and nonce


def test_tampering_is_detected():
    blob = bytearray(m.encrypt_data('pw', b'x' * 100, algorithm=m.PBKDF2_AES_GCM))
    blob[50] ^= 1
    with pytest.raises(InvalidTag):
        decrypt('pw', bytes(blob))


def test_truncated_multi_fragment_stream_is_detected():
    blob = m.encrypt_data('pw', b'y' * (2 * m.BUF_SIZE), algorithm=m.PBKDF2_AES_GCM)
    # Dropping the final fragment leaves a stream whose last fragment is not marked final.
    with pytest.raises(InvalidTag):
        decrypt('pw', blob[:m.HEADER_LEN + m.BUF_SIZE + 16])


def test_default_algorithm_prefers_argon2(monkeypatch):
    assert m.default_algorithm() == m.ARGON2ID_AES_GCM
    monkeypatch.setattr(m, 'HAS_ARGON2', False)
    assert m.default_algorithm() == m.PBKDF2_AES_GCM
    with pytest.raises(ValueError, match='python3-argon2'):
        m.derive_key('pw', b'\x00' * 32, m.ARGON2ID_AES_GCM)


def test_argon2_key_uses_madmin_parameters():
    salt = b'\x07' * 32
    expected = hash_secret_raw(b'pw', salt, time_cost=1, memory_cost=65536, parallelism=4, hash_len=32,
                               type=Type.ID, version=19)
    assert m.derive_key('pw', salt, m.ARGON2ID_AES_GCM) == expected


def test_unknown_algorithm_refused():
    with pytest.raises(ValueError):
        m.encrypt_data('pw', b'', algorithm=m.ARGON2ID_CHACHA20_POLY1305)
    with pytest.raises(ValueError):
        m.derive_key('pw', b'\x00' * 32, 9)


# --------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------

@pytest.mark.parametrize('name, reason', [('', 'empty'), ('ab', 'at least 3'), (' abc', 'white space'),
                                          ('a=b', 'reserved'), ('a,b', 'reserved')])
def test_access_key_errors(name, reason):
    assert reason in m.access_key_error(name)


def test_valid_names_and_secrets():
    assert m.access_key_error('mlflow') is None
    assert m.access_key_error('user@example.org') is None
    assert m.policy_name_error('mlflow-artifacts') is None
    assert ',' in m.policy_name_error('a,b')
    assert m.secret_key_error('12345678') is None
    assert m.secret_key_error('1234567') and m.secret_key_error(None)


# --------------------------------------------------------------------------
# Policies
# --------------------------------------------------------------------------

def test_prefix_policy_allows_exactly_the_prefix():
    doc = m.prefix_policy('mlflow', '/artifacts/')
    assert doc['Version'] == '2012-10-17'
    location, listing, objects = doc['Statement']
    assert location == dict(Effect='Allow', Action=['s3:GetBucketLocation'], Resource=['arn:aws:s3:::mlflow'])
    assert listing['Action'] == ['s3:ListBucket'] and listing['Resource'] == ['arn:aws:s3:::mlflow']
    assert listing['Condition'] == {'StringLike': {'s3:prefix': ['artifacts', 'artifacts/*']}}
    assert objects['Resource'] == ['arn:aws:s3:::mlflow/artifacts/*']
    assert sorted(objects['Action']) == sorted(['s3:GetObject', 's3:PutObject', 's3:DeleteObject',
                                                's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'])
    assert m.validate_policy(doc) is doc


def test_prefix_policy_without_prefix_is_the_whole_bucket():
    for prefix in (None, '', '/'):
        doc = m.prefix_policy('mlflow', prefix)
        assert 'Condition' not in doc['Statement'][1]
        assert doc['Statement'][2]['Resource'] == ['arn:aws:s3:::mlflow/*']


def test_nested_prefix():
    doc = m.prefix_policy('b1', 'team/a')
    assert doc['Statement'][2]['Resource'] == ['arn:aws:s3:::b1/team/a/*']
    assert doc['Statement'][1]['Condition']['StringLike']['s3:prefix'] == ['team/a', 'team/a/*']


@pytest.mark.parametrize('prefix', ['a*', 'a?b', '${aws:username}', 'a//b'])
def test_prefix_refuses_wildcards(prefix):
    with pytest.raises(ValueError, match='Invalid prefix'):
        m.prefix_policy('b1', prefix)


STORED = {  # as MinIO gives it back: lists everywhere, action order of its own
    'Version': '2012-10-17',
    'Statement': [
        {'Effect': 'Allow', 'Action': ['s3:PutObject', 's3:GetObject'], 'Resource': ['arn:aws:s3:::b/p/*']},
        {'Effect': 'Allow', 'Action': ['s3:ListBucket'], 'Resource': ['arn:aws:s3:::b'],
         'Condition': {'StringLike': {'s3:prefix': ['p/*', 'p']}}},
    ],
}


def test_policies_equal_on_meaning():
    written = {
        'Version': '2012-10-17',
        'Statement': [
            {'Sid': 'List', 'Effect': 'Allow', 'Action': 's3:ListBucket', 'Resource': 'arn:aws:s3:::b',
             'Condition': {'StringLike': {'s3:prefix': ['p', 'p/*']}}},
            {'Effect': 'Allow', 'Action': ['s3:GetObject', 's3:PutObject', 's3:GetObject'],
             'Resource': 'arn:aws:s3:::b/p/*'},
            {'Effect': 'Allow', 'Action': ['s3:GetObject', 's3:PutObject'], 'Resource': 'arn:aws:s3:::b/p/*'},
        ],
    }
    assert m.policies_equal(STORED, written)
    assert m.policies_equal(json.dumps(STORED), written)
    assert m.normalize_policy(written) == m.normalize_policy(STORED)


@pytest.mark.parametrize('change', [
    lambda d: d['Statement'][0]['Action'].append('s3:DeleteObject'),
    lambda d: d['Statement'][0].update(Resource=['arn:aws:s3:::b/*']),
    lambda d: d['Statement'][1]['Condition']['StringLike'].update({'s3:prefix': ['p/*']}),
    lambda d: d['Statement'][1].pop('Condition'),
    lambda d: d['Statement'][0].update(Effect='Deny'),
    lambda d: d['Statement'].pop(),
    lambda d: d.update(Version='2008-10-17'),
])
def test_policies_differ(change):
    other = json.loads(json.dumps(STORED))
    change(other)
    assert not m.policies_equal(STORED, other)


def test_normalize_none_and_single_statement_object():
    assert m.normalize_policy(None) is None
    single = {'Version': '2012-10-17', 'Statement': {'Effect': 'Allow', 'Action': 's3:*', 'Resource': '*'}}
    assert m.normalize_policy(single)['Statement'] == [{'Effect': 'Allow', 'Action': ['s3:*'], 'Resource': ['*']}]
    assert m.policies_equal(single, {'Version': '2012-10-17',
                                     'Statement': [{'Effect': 'Allow', 'Action': ['s3:*'], 'Resource': ['*']}]})


@pytest.mark.parametrize('doc, message', [
    ('{not json', 'not valid JSON'),
    ([], 'JSON object'),
    ({'Statement': [{'Effect': 'Allow', 'Action': 's3:*'}]}, 'Version'),
    ({'Version': '2020-01-01', 'Statement': [{'Effect': 'Allow', 'Action': 's3:*'}]}, 'Version'),
    ({'Version': '2012-10-17'}, 'non-empty "Statement"'),
    ({'Version': '2012-10-17', 'Statement': ['x']}, 'not an object'),
    ({'Version': '2012-10-17', 'Statement': [{'Action': 's3:*'}]}, 'Effect'),
    ({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow'}]}, 'Action'),
])
def test_validate_policy(doc, message):
    with pytest.raises(ValueError, match=message):
        m.validate_policy(doc)


def test_validate_policy_accepts_json_text():
    assert m.validate_policy(json.dumps(STORED)) == STORED


def test_parse_policy_names():
    assert m.parse_policy_names(None) == []
    assert m.parse_policy_names('') == []
    assert m.parse_policy_names('readwrite,p1') == ['p1', 'readwrite']
    assert m.parse_policy_names(['b', 'a', 'b']) == ['a', 'b']


# --------------------------------------------------------------------------
# Planner
# --------------------------------------------------------------------------

DOC = m.prefix_policy('mlflow', 'artifacts')
MISSING = dict(exists=False, status=None, policies=[], secret_matches=None, policy_document=None)
GOOD = dict(exists=True, status='enabled', policies=['p'], secret_matches=True, policy_document=DOC)


def plan(actual, **wanted):
    base = dict(name='u1', state='present', policy_name='p', policy_document=DOC)
    base.update(wanted)
    return m.plan_user(actual, base)


def test_new_user_with_new_policy():
    result = plan(MISSING)
    assert result['actions'] == ['create_policy', 'create_user', 'attach_policy']
    assert result['before'] == dict(name='u1', exists=False, status=None, policies=[], secret_matches=None,
                                    policy=dict(name='p', exists=False, document=None))
    assert result['after'] == dict(name='u1', exists=True, status='enabled', policies=['p'], secret_matches=True,
                                   policy=dict(name='p', exists=True, document=m.normalize_policy(DOC)))


def test_everything_in_place_is_unchanged():
    result = plan(GOOD)
    assert result['actions'] == [] and result['before'] == result['after']
    stored_form = dict(GOOD, policy_document=json.loads(json.dumps(STORED)))
    assert plan(stored_form, policy_document=STORED)['actions'] == []


def test_wrong_secret_is_set_again():
    result = plan(dict(GOOD, secret_matches=False))
    assert result['actions'] == ['set_secret']
    assert result['before']['secret_matches'] is False and result['after']['secret_matches'] is True


def test_disabled_user_is_enabled_and_gets_its_secret():
    result = plan(dict(GOOD, status='disabled', secret_matches=None))
    assert result['actions'] == ['enable_user', 'set_secret']
    assert result['after']['status'] == 'enabled'


def test_changed_policy_document_is_updated():
    result = plan(GOOD, policy_document=m.prefix_policy('mlflow', 'other'))
    assert result['actions'] == ['update_policy']
    assert result['before']['policy']['document'] != result['after']['policy']['document']


def test_other_policies_are_detached():
    result = plan(dict(GOOD, policies=['consoleAdmin', 'p', 'readwrite']))
    assert result['actions'] == ['detach_policies'] and result['detach'] == ['consoleAdmin', 'readwrite']
    assert result['after']['policies'] == ['p']
    swap = plan(dict(GOOD, policies=['readwrite']))
    assert swap['actions'] == ['detach_policies', 'attach_policy'] and swap['detach'] == ['readwrite']


def test_unmanaged_policy_only_attached():
    result = plan(dict(GOOD, policies=[], policy_document=None), policy_name='readwrite', policy_document=None)
    assert result['actions'] == ['attach_policy'] and 'policy' not in result['after']


def test_without_policy_name_policies_are_left_alone():
    result = plan(dict(GOOD, policies=['readwrite']), policy_name=None, policy_document=None)
    assert result['actions'] == [] and result['after']['policies'] == ['readwrite']
    assert plan(MISSING, policy_name=None, policy_document=None)['actions'] == ['create_user']


def test_absent():
    result = plan(GOOD, state='absent', policy_document=None)
    assert result['actions'] == ['remove_user']
    assert result['after'] == dict(name='u1', exists=False, status=None, policies=[], secret_matches=None)
    assert plan(MISSING, state='absent', policy_document=None)['actions'] == []


def test_plan_does_not_alias_input():
    actual = dict(GOOD, policies=['readwrite'])
    plan(actual)
    assert actual['policies'] == ['readwrite']


# --------------------------------------------------------------------------
# Client pieces
# --------------------------------------------------------------------------

def test_query_string_is_sorted_and_rfc3986_encoded():
    assert m._query_string({'name': 'a b+c/é', 'v': '2'}) == 'name=a%20b%2Bc%2F%C3%A9&v=2'
    assert m._query_string({'z': '1', 'a': 'x-y_z.~'}) == 'a=x-y_z.~&z=1'


def test_verify_setting():
    assert m.verify_setting(dict(ca_bundle='/ca.pem', validate_certs=False)) == '/ca.pem'
    assert m.verify_setting(dict(ca_bundle=None, validate_certs=False)) is False
    assert m.verify_setting(dict(ca_bundle=None, validate_certs=True)) is True


class FakeS3(object):
    def __init__(self, code=None):
        self.code = code

    def list_buckets(self):
        if self.code:
            raise ClientError({'Error': {'Code': self.code, 'Message': 'x'}}, 'ListBuckets')
        return {'Buckets': []}


@pytest.mark.parametrize('code, works', [(None, True), ('AccessDenied', True), ('SignatureDoesNotMatch', False),
                                         ('InvalidAccessKeyId', False)])
def test_secret_key_works(code, works):
    assert m.secret_key_works(FakeS3(code)) is works


def test_secret_key_check_raises_other_errors():
    with pytest.raises(ClientError):
        m.secret_key_works(FakeS3('InternalError'))


@pytest.mark.parametrize('size', [0, 5, m.BUF_SIZE, m.BUF_SIZE + 1, 3 * m.BUF_SIZE])
def test_decrypt_data_opens_what_encrypt_data_seals(size):
    data = bytes(range(256)) * (size // 256) + b'x' * (size % 256)
    sealed = m.encrypt_data('secret-key', data, algorithm=m.PBKDF2_AES_GCM)
    assert m.decrypt_data('secret-key', sealed) == data


def test_decrypt_data_refuses_a_cut_or_altered_answer():
    sealed = m.encrypt_data('secret-key', b'x' * (m.BUF_SIZE + 10), algorithm=m.PBKDF2_AES_GCM)
    with pytest.raises(InvalidTag):
        m.decrypt_data('secret-key', sealed[:m.HEADER_LEN + m.BUF_SIZE + 16])
    with pytest.raises(InvalidTag):
        m.decrypt_data('other-key', sealed)
    with pytest.raises(ValueError, match='too short'):
        m.decrypt_data('secret-key', b'abc')
