# -*- coding: utf-8 -*-
"""Shared data of the model card tests: a run and its experiment as MLflow 3.17.2's REST API
answers runs/get and experiments/get (recorded from a real server, times included), and a card
naming that run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest

RUN_ID = '0b65f198c7d142a8a1eaf7aeb4e63c03'

RUN = {
    'info': {
        'run_uuid': RUN_ID, 'experiment_id': '1', 'run_name': 'probe', 'user_id': 'alice', 'status': 'FINISHED',
        'start_time': 1795417740477, 'end_time': 1795417745393,
        'artifact_uri': 'mlflow-artifacts:/1/%s/artifacts' % RUN_ID, 'lifecycle_stage': 'active', 'run_id': RUN_ID,
    },
    'data': {
        'metrics': [
            {'key': 'loss', 'value': 0.3333333333333333, 'timestamp': 1795417744435, 'step': 2},
            {'key': 'accuracy', 'value': 0.93, 'timestamp': 1795417744637, 'step': 0},
        ],
        'params': [{'key': 'alpha', 'value': '0.5'}, {'key': 'layers', 'value': '3'}],
        'tags': [
            {'key': 'mlflow.runName', 'value': 'probe'},
            {'key': 'mlflow.source.name', 'value': 'train.py'},
            {'key': 'mlflow.source.type', 'value': 'LOCAL'},
            {'key': 'mlflow.source.git.commit', 'value': '3f2a9c1'},
            {'key': 'mlflow.log-model.history', 'value': '[{"a": 1}]'},
            {'key': 'stage', 'value': 'probe'},
        ],
    },
    'inputs': {
        'dataset_inputs': [
            {'tags': [{'key': 'mlflow.data.context', 'value': 'training'}],
             'dataset': {'name': 'iris', 'digest': 'abc123', 'source_type': 'local',
                         'source': '{"uri": "/data/iris.csv"}', 'schema': '{"a":1}', 'profile': '{"num_rows": 150}'}},
            {'tags': [{'key': 'mlflow.data.context', 'value': 'eval'}],
             'dataset': {'name': 'holdout', 'digest': 'def456', 'source_type': 'code', 'source': 'not json'}},
        ],
    },
    'outputs': {},
}

EXPERIMENT = {'experiment_id': '1', 'name': 'card-probe', 'artifact_location': 'mlflow-artifacts:/1',
              'lifecycle_stage': 'active', 'last_update_time': 1795417740258, 'creation_time': 1795417740258}

CARD = {
    'model_details': {
        'name': 'probe-model', 'version': '1.0.0', 'description': 'A model for the tests.',
        'owners': [{'name': 'Data team', 'contact': 'data@example.com'}],
        'run': {'id': RUN_ID, 'experiment': 'card-probe', 'type': 'training'},
    },
    'intended_use': {'primary_uses': ['Testing the collection'], 'out_of_scope': ['Production']},
    'metrics': [{'name': 'accuracy', 'description': 'accuracy | on the holdout'}],
    'considerations': {'limitations': ['Trained on 150 flowers']},
}


@pytest.fixture
def mlflow_run():
    return copy.deepcopy(RUN)


@pytest.fixture
def mlflow_experiment():
    return copy.deepcopy(EXPERIMENT)


@pytest.fixture
def card():
    return copy.deepcopy(CARD)
