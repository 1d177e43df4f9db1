# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import datetime
import json
import os
import subprocess
import sys

import jsonschema
import pytest

from ansible_collections.onprem.mlflow.plugins.module_utils import model_card as mc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
EXAMPLE = os.path.join(ROOT, 'playbooks', 'files', 'model_card.example.yml')
RUN_ID = '0b65f198c7d142a8a1eaf7aeb4e63c03'


def base_card():
    return {
        'model_details': {'name': 'm', 'version': '1', 'run': {'id': RUN_ID}},
        'intended_use': {'primary_uses': ['x']},
        'metrics': [{'name': 'accuracy'}],
        'considerations': {'limitations': ['l']},
    }


def edited(change):
    card = base_card()
    change(card)
    return card


def errors_of(card):
    with pytest.raises(mc.CardError) as exc:
        mc.validate_card(card)
    return exc.value.errors


# --- schema --------------------------------------------------------------------------------

def test_the_example_card_is_valid():
    with open(EXAMPLE) as handle:
        card = mc.validate_card(mc.parse_card(handle.read()))
    assert card['model_details']['run']['id'] == RUN_ID
    assert mc.run_id_of(card) == RUN_ID


def test_the_smallest_card_is_valid_and_returned_as_json_data():
    card = base_card()
    assert mc.validate_card(card) == card


# (change to the smallest valid card, the one message expected)
INVALID = [
    (lambda c: c.pop('model_details'), 'model_details is required'),
    (lambda c: c.pop('intended_use'), 'intended_use is required'),
    (lambda c: c.pop('metrics'), 'metrics is required'),
    (lambda c: c.pop('considerations'), 'considerations is required'),
    (lambda c: c['model_details'].pop('name'), 'model_details.name is required'),
    (lambda c: c['model_details'].pop('version'), 'model_details.version is required'),
    (lambda c: c['model_details'].pop('run'), 'model_details.run is required'),
    (lambda c: c['model_details']['run'].pop('id'), 'model_details.run.id is required'),
    (lambda c: c['model_details']['run'].update(id='../x'),
     "model_details.run.id must be an MLflow run ID (got '../x')"),
    (lambda c: c['model_details']['run'].update(id=12), 'model_details.run.id must be a string (got an integer)'),
    (lambda c: c['model_details'].update(name=''), 'model_details.name must not be empty'),
    (lambda c: c['model_details'].update(name=['a']), 'model_details.name must be a string (got a list)'),
    (lambda c: c['model_details'].update(version=True),
     'model_details.version must be a string or an integer or a number (got true or false)'),
    (lambda c: c['model_details'].update(owners=[{'contact': 'x'}]), 'model_details.owners[0].name is required'),
    (lambda c: c['model_details']['run'].update(experiment=None),
     'model_details.run.experiment must be a string (got null)'),
    (lambda c: c['intended_use'].update(primary_uses=[]), 'intended_use.primary_uses must list at least 1 item'),
    (lambda c: c['intended_use'].update(primary_uses='x'), 'intended_use.primary_uses must be a list (got a string)'),
    (lambda c: c.update(metrics=[]), 'metrics must list at least 1 item'),
    (lambda c: c['metrics'].append({'description': 'd'}), 'metrics[1].name is required'),
    (lambda c: c['considerations'].pop('limitations'), 'considerations.limitations is required'),
    (lambda c: c['considerations'].update(limitations=['ok', '']), 'considerations.limitations[1] must not be empty'),
    (lambda c: c.update(schema_version=2), 'schema_version must be one of 1 (got 2)'),
    (lambda c: c.update(intended_uses={}),
     'intended_uses is not a field of a model card (known: considerations, datasets, extra, intended_use, '
     'metrics, model_details, schema_version)'),
    (lambda c: c['model_details'].update(licence='MIT'),
     'model_details.licence is not a field of model_details (known: citation, description, license, name, '
     'owners, references, run, version)'),
    (lambda c: c.update(datasets=[{'name': 'd', 'url': 'x'}]),
     'datasets[0].url is not a field of datasets[0] (known: description, link, name)'),
]


@pytest.mark.parametrize('change, message', INVALID, ids=[message for _change, message in INVALID])
def test_each_schema_error_names_its_field(change, message):
    errors = errors_of(edited(change))
    assert errors == [message]


def test_every_error_is_reported_at_once_and_the_message_starts_with_model_card():
    card = edited(lambda c: (c.pop('intended_use'), c['model_details'].pop('version'), c['metrics'][0].pop('name')))
    with pytest.raises(mc.CardError) as exc:
        mc.validate_card(card)
    assert exc.value.errors == ['intended_use is required', 'metrics[0].name is required',
                                'model_details.version is required']
    assert str(exc.value) == ('model card: intended_use is required; metrics[0].name is required; '
                              'model_details.version is required')


def test_a_card_that_is_not_a_mapping():
    assert errors_of(['a']) == ['the card must be an object (got a list)']
    assert errors_of(None) == ['the card must be an object (got null)']


def test_the_run_section_is_reserved_for_the_server():
    card = base_card()
    card['run'] = {'id': 'x'}
    assert errors_of(card) == ['run is filled in from the tracking server: remove the run section from the card '
                               '(name the run in model_details.run.id)']


def test_a_number_version_and_extra_data_are_accepted():
    card = base_card()
    card['model_details']['version'] = 1.5
    card['extra'] = {'anything': [1, {'goes': True}]}
    assert mc.validate_card(card)['extra'] == {'anything': [1, {'goes': True}]}


@pytest.mark.parametrize('change, message', INVALID, ids=[message for _change, message in INVALID])
def test_jsonschema_agrees_with_our_validator(change, message):
    """SCHEMA is standard JSON Schema: the jsonschema package refuses what we refuse and accepts the rest."""
    validator = jsonschema.Draft202012Validator(mc.SCHEMA)
    assert not validator.is_valid(edited(change)), message
    assert validator.is_valid(base_card())
    with open(EXAMPLE) as handle:
        assert validator.is_valid(mc.parse_card(handle.read()))


def test_the_schema_is_valid_json_schema_and_its_file_is_generated():
    jsonschema.Draft202012Validator.check_schema(mc.SCHEMA)
    script = os.path.join(ROOT, 'tests', 'scripts', 'gen_model_card_schema.py')
    result = subprocess.run([sys.executable, script, '--check'], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


# --- the card as data ------------------------------------------------------------------------

def test_parse_card_reads_json_and_yaml_and_turns_dates_into_strings():
    assert mc.parse_card('{"a": [1, 2]}') == {'a': [1, 2]}
    assert mc.parse_card('a:\n  released: 2026-11-23\n  1: one\n') == {'a': {'released': '2026-11-23', '1': 'one'}}


def test_parse_card_refuses_what_is_neither_json_nor_yaml():
    with pytest.raises(mc.CardError) as exc:
        mc.parse_card('a: [unclosed', 'the card file card.yml')
    assert str(exc.value).startswith('model card: the card file card.yml is neither JSON nor YAML')


def test_plain_refuses_what_json_cannot_hold():
    assert mc.plain({'d': datetime.datetime(2026, 11, 23, 7, 9)}) == {'d': '2026-11-23T07:09:00'}
    with pytest.raises(mc.CardError, match=r'extra\.x must be a finite number'):
        mc.plain({'extra': {'x': float('nan')}})
    with pytest.raises(mc.CardError, match=r'extra\[0\] holds set'):
        mc.plain({'extra': [set()]})


# --- the run -----------------------------------------------------------------------------------

def test_a_finished_run_of_the_named_experiment_with_the_metrics_passes(card, mlflow_run, mlflow_experiment):
    assert mc.check_run(card, mlflow_run, mlflow_experiment) == []


def test_a_running_run_is_refused(card, mlflow_run, mlflow_experiment):
    mlflow_run['info']['status'] = 'RUNNING'
    assert mc.check_run(card, mlflow_run, mlflow_experiment) == [
        "model_details.run.id: run '%s' is RUNNING, not FINISHED: only a finished run can be documented "
        "(end it with mlflow.end_run() or MlflowClient().set_terminated())" % RUN_ID]


@pytest.mark.parametrize('status', ['FAILED', 'KILLED', 'SCHEDULED'])
def test_only_finished_counts(card, mlflow_run, mlflow_experiment, status):
    mlflow_run['info']['status'] = status
    assert 'is %s, not FINISHED' % status in mc.check_run(card, mlflow_run, mlflow_experiment)[0]


def test_a_deleted_run_is_refused(card, mlflow_run, mlflow_experiment):
    mlflow_run['info']['lifecycle_stage'] = 'deleted'
    assert mc.check_run(card, mlflow_run, mlflow_experiment) == ["model_details.run.id: run '%s' is deleted" % RUN_ID]


def test_a_run_of_another_experiment_is_refused(card, mlflow_run, mlflow_experiment):
    mlflow_experiment['name'] = 'elsewhere'
    assert mc.check_run(card, mlflow_run, mlflow_experiment) == [
        "model_details.run.experiment is 'card-probe' but run '%s' belongs to experiment 'elsewhere' (ID 1)" % RUN_ID]
    card['model_details']['run'].pop('experiment')
    assert mc.check_run(card, mlflow_run, mlflow_experiment) == []


def test_a_metric_the_run_does_not_have_is_refused(card, mlflow_run, mlflow_experiment):
    card['metrics'].append({'name': 'f1'})
    assert mc.check_run(card, mlflow_run, mlflow_experiment) == [
        "metrics[1].name: run '%s' has no metric 'f1' (it has: accuracy, loss)" % RUN_ID]


def test_run_section_holds_what_the_server_recorded(mlflow_run, mlflow_experiment):
    assert mc.run_section(mlflow_run, mlflow_experiment) == {
        'id': RUN_ID, 'name': 'probe', 'experiment_id': '1', 'experiment': 'card-probe', 'status': 'FINISHED',
        'user': 'alice', 'start_time': '2026-11-23T07:09:00.477Z', 'end_time': '2026-11-23T07:09:05.393Z',
        'artifact_uri': 'mlflow-artifacts:/1/%s/artifacts' % RUN_ID,
        'params': {'alpha': '0.5', 'layers': '3'},
        'metrics': {'accuracy': 0.93, 'loss': 0.3333333333333333},
        'tags': {'stage': 'probe'},
        'source': {'name': 'train.py', 'type': 'LOCAL', 'git_commit': '3f2a9c1'},
        'datasets': [
            {'name': 'holdout', 'digest': 'def456', 'source_type': 'code', 'source': 'not json', 'context': 'eval'},
            {'name': 'iris', 'digest': 'abc123', 'source_type': 'local', 'source': {'uri': '/data/iris.csv'},
             'context': 'training', 'profile': {'num_rows': 150}},
        ],
    }


def test_run_section_of_a_bare_run(mlflow_experiment):
    run = {'info': {'run_id': 'r1', 'experiment_id': '1', 'status': 'FINISHED', 'start_time': 0,
                    'artifact_uri': 'mlflow-artifacts:/1/r1/artifacts'}, 'data': {}}
    section = mc.run_section(run, mlflow_experiment)
    assert section == {'id': 'r1', 'experiment_id': '1', 'experiment': 'card-probe', 'status': 'FINISHED',
                       'artifact_uri': 'mlflow-artifacts:/1/r1/artifacts', 'params': {}, 'metrics': {}, 'tags': {},
                       'datasets': []}


def test_a_nan_metric_stays_valid_json(mlflow_run, mlflow_experiment):
    mlflow_run['data']['metrics'].append({'key': 'bad', 'value': float('nan')})
    mlflow_run['data']['metrics'].append({'key': 'huge', 'value': float('inf')})
    section = mc.run_section(mlflow_run, mlflow_experiment)
    assert section['metrics']['bad'] == 'NaN' and section['metrics']['huge'] == 'Infinity'
    json.loads(mc.card_json(mc.augment(base_card(), section)))


# --- what is written -----------------------------------------------------------------------------

def test_the_augmented_card_is_the_card_plus_run(card, mlflow_run, mlflow_experiment):
    section = mc.run_section(mlflow_run, mlflow_experiment)
    augmented = mc.augment(card, section)
    assert augmented == dict(card, run=section)
    assert 'run' not in card


def test_card_json_is_byte_stable_whatever_the_order(card, mlflow_run, mlflow_experiment):
    first = mc.card_json(mc.augment(card, mc.run_section(mlflow_run, mlflow_experiment)))
    reordered = copy.deepcopy(mlflow_run)
    for key in ('metrics', 'params', 'tags'):
        reordered['data'][key].reverse()
    reordered['inputs']['dataset_inputs'].reverse()
    shuffled = dict(reversed(list(card.items())))
    second = mc.card_json(mc.augment(shuffled, mc.run_section(reordered, mlflow_experiment)))
    assert first == second
    assert first.endswith(b'}\n')
    assert json.loads(first)['run']['params'] == {'alpha': '0.5', 'layers': '3'}
    keys = list(json.loads(first))
    assert keys == sorted(keys)


def test_card_json_keeps_non_ascii_text_as_utf8(card, mlflow_run, mlflow_experiment):
    card['model_details']['description'] = 'Prévision de résiliation'
    text = mc.card_json(mc.augment(card, mc.run_section(mlflow_run, mlflow_experiment)))
    assert 'Prévision de résiliation'.encode() in text


def test_markdown_has_the_card_and_the_run_as_tables(card, mlflow_run, mlflow_experiment):
    md = mc.render_markdown(mc.augment(card, mc.run_section(mlflow_run, mlflow_experiment)))
    assert md.startswith('# Model card: probe-model 1.0.0\n\nA model for the tests.\n')
    assert '| Owners | Data team (data@example.com) |' in md
    assert '| Run type | training |' in md
    assert '### Primary uses\n\n- Testing the collection\n' in md
    assert '### Out of scope\n\n- Production\n' in md
    # The card's metric with the run's latest value; a pipe in a cell is escaped.
    assert '| accuracy | 0.93 | accuracy \\| on the holdout |' in md
    assert '### Limitations\n\n- Trained on 150 flowers\n' in md
    assert '| Experiment | card-probe (ID 1) |' in md
    assert '| Start | 2026-11-23T07:09:00.477Z |' in md
    assert '| Source git commit | 3f2a9c1 |' in md
    assert '### Parameters\n\n| Parameter | Value |\n| --- | --- |\n| alpha | 0.5 |\n| layers | 3 |\n' in md
    assert '| loss | 0.3333333333333333 |' in md
    assert '| stage | probe |' in md
    assert '| iris | abc123 | training | local | {"uri": "/data/iris.csv"} |' in md
    # Sections the card does not have are left out.
    assert 'Trade-offs' not in md and '## Datasets' not in md and 'Primary users' not in md


def test_markdown_cells_keep_one_line(card, mlflow_run, mlflow_experiment):
    mlflow_run['data']['params'].append({'key': 'notes', 'value': 'line one\nline two'})
    md = mc.render_markdown(mc.augment(card, mc.run_section(mlflow_run, mlflow_experiment)))
    assert '| notes | line one<br>line two |' in md


def test_markdown_of_a_run_without_params_or_metrics(card, mlflow_experiment):
    run = {'info': {'run_id': RUN_ID, 'experiment_id': '1', 'status': 'FINISHED',
                    'artifact_uri': 'mlflow-artifacts:/1/x/artifacts'}}
    md = mc.render_markdown(mc.augment(card, mc.run_section(run, mlflow_experiment)))
    assert '### Parameters\n\nNone logged.\n' in md
    assert '### Metrics (latest values)\n\nNone logged.\n' in md
    assert '| accuracy |  | accuracy \\| on the holdout |' in md


def test_render_gives_both_artifacts(card, mlflow_run, mlflow_experiment):
    augmented = mc.augment(card, mc.run_section(mlflow_run, mlflow_experiment))
    files = mc.render(augmented)
    assert sorted(files) == ['modelcard.json', 'modelcard.md']
    assert json.loads(files['modelcard.json']) == augmented
    assert files['modelcard.md'].decode('utf-8') == mc.render_markdown(augmented)


@pytest.mark.parametrize('existing, writes', [
    ({}, ['modelcard.json', 'modelcard.md']),
    ({'modelcard.json': None, 'modelcard.md': None}, ['modelcard.json', 'modelcard.md']),
    ({'modelcard.json': b'J', 'modelcard.md': b'M'}, []),
    ({'modelcard.json': b'J', 'modelcard.md': b'old'}, ['modelcard.md']),
    ({'modelcard.json': b'J\n', 'modelcard.md': b'M'}, ['modelcard.json']),
])
def test_only_what_differs_is_written(existing, writes):
    assert mc.plan_writes(existing, {'modelcard.json': b'J', 'modelcard.md': b'M'}) == writes
