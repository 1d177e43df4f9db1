#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: onprem.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: model_card
short_description: Attach a model card kept in git to the MLflow run it names
description:
  - Reads a model card (YAML or JSON), checks it against the collection's schema, reads the run named by
    C(model_details.run.id) from the MLflow tracking server's REST API and attaches the card to that run as
    two artifacts at the root of its artifacts, C(modelcard.json) and C(modelcard.md).
  - C(modelcard.json) is the augmented card, the card plus a C(run) section filled from the server (see
    RV(card)). C(modelcard.md) renders it for people (title, model details, intended use, metrics,
    considerations, and the run's parameters, metrics, tags and dataset inputs as tables), readable in MLflow's
    artifact viewer.
  - "The card must have the sections C(model_details) (with C(name), C(version) and C(run.id)),
    C(intended_use) (with C(primary_uses)), C(metrics) (a list of the run's metrics that judge the model, each
    with a C(name)) and C(considerations) (with C(limitations)); optional are C(schema_version) (V(1)),
    C(datasets) and C(extra) (free-form, not rendered). Unknown fields are refused, so a misspelt section is
    caught. The schema is C(docs/model_card.schema.json) in the collection; an example card is
    C(playbooks/files/model_card.example.yml)."
  - "The run must exist, must not be deleted, must be C(FINISHED), must belong to the experiment named by
    C(model_details.run.experiment) when the card names one, and must have every metric the card's C(metrics)
    list names."
  - "Every problem fails the task with a message naming the field (for example
    C(model card: model_details.run.id is required)), and then nothing is written."
  - The artifacts are written through the tracking server's proxied artifact API
    (C(/api/2.0/mlflow-artifacts/artifacts)), so the run's artifact URI must be C(mlflow-artifacts:/...), as on
    a server started with C(--serve-artifacts) (the stack's).
  - The current artifacts are read first, and only those whose bytes differ are written. Their content depends
    on the card and the run only (sorted keys, the run's own times, no time of "now"), so applying the same card
    to the same run again changes nothing. Check mode reads but writes nothing; diff mode shows C(modelcard.json)
    before and after.
  - "The module runs where the card file is, normally on the controller (C(delegate_to: localhost) or a play on
    localhost)."
version_added: 0.3.0
author:
  - onprem.mlflow maintainers (@onprem-mlflow)
extends_documentation_fragment:
  - onprem.mlflow.tracking_connection
  - onprem.mlflow.attributes
options:
  path:
    description:
      - Model card file, JSON or YAML, on the host that runs the module.
      - Exactly one of O(path) and O(card) is required.
    type: path
  card:
    description:
      - The model card as data, instead of O(path).
    type: dict
notes:
  - The schema is checked by the collection's own validator of the JSON Schema keywords the schema uses, so the
    C(jsonschema) package is not needed; the schema file validates the same cards with any JSON Schema tool.
  - "YAML dates in the card (C(date: 2026-11-23)) become ISO 8601 strings."
requirements:
  - PyYAML for a YAML card (it comes with ansible-core).
seealso:
  - name: MLflow REST API
    description: The endpoints the module calls (runs/get, experiments/get, mlflow-artifacts).
    link: https://mlflow.org/docs/latest/api_reference/rest-api.html
'''

EXAMPLES = r'''
- name: Attach the card to its run, with the client settings of the stack's client.env in the environment
  onprem.mlflow.model_card:
    path: models/churn/modelcard.yml
  delegate_to: localhost

- name: Same, with explicit connection settings
  onprem.mlflow.model_card:
    path: models/churn/modelcard.yml
    tracking_uri: https://mlflow.example.internal
    username: ci
    password: "{{ vault_mlflow_ci_password }}"
    ca_path: /etc/onprem-mlflow/ca.crt
  delegate_to: localhost

- name: Check a card and show what would change, writing nothing
  onprem.mlflow.model_card:
    path: models/churn/modelcard.yml
  check_mode: true
  diff: true
  delegate_to: localhost

- name: A card given as data
  onprem.mlflow.model_card:
    card:
      model_details:
        name: churn
        version: "1.4.0"
        run:
          id: 0b65f198c7d142a8a1eaf7aeb4e63c03
          experiment: churn-training
      intended_use:
        primary_uses: [Rank customers by churn risk for the retention team]
      metrics:
        - name: roc_auc
      considerations:
        limitations: [Trained on 2025 contracts only]
  delegate_to: localhost
'''

RETURN = r'''
card:
  description:
    - The augmented card, as attached to the run in C(modelcard.json) (also in check mode).
    - The card's own sections as given, plus C(run) read from the tracking server.
  returned: when the card and its run are valid
  type: dict
  contains:
    run:
      description:
        - The run, read from the tracking server. C(start_time) and C(end_time) are ISO 8601 UTC; C(metrics)
          are the latest values; C(tags) leave out MLflow's own C(mlflow.*) tags, whose source tags are in
          C(source); C(datasets) are the run's dataset inputs, sorted (a source or profile that is a JSON
          object is decoded).
      type: dict
      sample:
        id: 0b65f198c7d142a8a1eaf7aeb4e63c03
        name: probe
        experiment_id: "1"
        experiment: churn-training
        status: FINISHED
        user: alice
        start_time: "2026-11-23T07:09:00.477Z"
        end_time: "2026-11-23T07:09:05.393Z"
        artifact_uri: mlflow-artifacts:/1/0b65f198c7d142a8a1eaf7aeb4e63c03/artifacts
        params: {alpha: "0.5", layers: "3"}
        metrics: {accuracy: 0.93, loss: 0.3333333333333333}
        tags: {stage: probe}
        datasets:
          - {name: iris, digest: abc123, source_type: local, source: {uri: /data/iris.csv}, context: training}
        source: {git_commit: 3f2a9c1, name: train.py, type: LOCAL}
  sample:
    model_details: {name: churn, version: "1.4.0", run: {id: 0b65f198c7d142a8a1eaf7aeb4e63c03}}
    intended_use: {primary_uses: [Rank customers by churn risk]}
    metrics: [{name: accuracy}]
    considerations: {limitations: [Trained on 2025 contracts only]}
    run: {id: 0b65f198c7d142a8a1eaf7aeb4e63c03, status: FINISHED, params: {alpha: "0.5"}, metrics: {accuracy: 0.93}}
artifacts:
  description: The two artifacts of the card, and whether each was written (would be, in check mode).
  returned: when the card and its run are valid
  type: list
  elements: dict
  contains:
    name:
      description: Artifact name.
      type: str
      sample: modelcard.json
    uri:
      description: Artifact URI.
      type: str
      sample: mlflow-artifacts:/1/0b65f198c7d142a8a1eaf7aeb4e63c03/artifacts/modelcard.json
    changed:
      description: Whether its content differed from the run's artifact (or the run had none).
      type: bool
      sample: true
    size:
      description: Size in bytes of the content.
      type: int
      sample: 2211
  sample:
    - {name: modelcard.json, uri: "mlflow-artifacts:/1/0b65f198c7d142a8a1eaf7aeb4e63c03/artifacts/modelcard.json",
       changed: true, size: 2211}
    - {name: modelcard.md, uri: "mlflow-artifacts:/1/0b65f198c7d142a8a1eaf7aeb4e63c03/artifacts/modelcard.md",
       changed: false, size: 1404}
run_id:
  description: ID of the run the card names.
  returned: when the card is valid
  type: str
  sample: 0b65f198c7d142a8a1eaf7aeb4e63c03
errors:
  description: Every problem of the card or its run, each naming its field, when the task failed because of them.
  returned: failure
  type: list
  elements: str
  sample: ["intended_use is required", "model_details.run.id must be an MLflow run ID (got 'x y')"]
'''

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.common.text.converters import to_native, to_text  # noqa: E402

from ansible_collections.onprem.mlflow.plugins.module_utils.model_card import (  # noqa: E402
    CARD_JSON,
    CONTENT_TYPES,
    CardError,
    augment,
    check_run,
    parse_card,
    plan_writes,
    render,
    run_id_of,
    run_section,
    validate_card,
)
from ansible_collections.onprem.mlflow.plugins.module_utils.tracking import (  # noqa: E402
    TrackingClient,
    TrackingError,
    tracking_argument_spec,
)


def argument_spec():
    spec = tracking_argument_spec()
    spec.update(
        path=dict(type='path'),
        card=dict(type='dict'),
    )
    return spec


def load_card(params):
    """The validated card from O(path) or O(card)."""
    if params['path'] is not None:
        try:
            with open(params['path'], 'rb') as handle:
                text = to_text(handle.read(), errors='surrogate_or_strict')
        except (OSError, UnicodeError) as exc:
            raise CardError(['the card file %s cannot be read: %s' % (params['path'], to_native(exc))]) from None
        return validate_card(parse_card(text, 'the card file %s' % params['path']))
    return validate_card(params['card'])


def read_run(client, card):
    """(run, experiment) of the run the card names; CardError when the server has no such run."""
    run_id = run_id_of(card)
    try:
        run = client.get_run(run_id)
    except TrackingError as exc:
        if exc.status == 404 or exc.error_code == 'RESOURCE_DOES_NOT_EXIST':
            raise CardError(['model_details.run.id: the tracking server %s has no run %r'
                             % (client.uri, run_id)]) from None
        raise
    experiment = client.get_experiment((run.get('info') or {}).get('experiment_id'))
    return run, experiment


def read_artifacts(client, root, names):
    """{name: bytes or None (absent)} of the run's current artifacts ``names``."""
    present = client.list_artifacts(root)
    return dict((name, client.get_artifact(root + '/' + name) if name in present else None) for name in names)


def apply_card(client, card, check_mode, written=None):
    """Everything after the card was validated: (result, diff); writes nothing in check mode.

    Each artifact written is appended to ``written`` at once, so a failure part-way is reported right.
    """
    written = [] if written is None else written
    run, experiment = read_run(client, card)
    errors = check_run(card, run, experiment)
    if errors:
        raise CardError(errors)
    section = run_section(run, experiment)
    root = client.artifact_root(section.get('artifact_uri'))
    augmented = augment(card, section)
    wanted = render(augmented)
    existing = read_artifacts(client, root, sorted(wanted))
    writes = plan_writes(existing, wanted)
    if writes and not check_mode:
        for name in writes:
            client.put_artifact(root + '/' + name, wanted[name], CONTENT_TYPES[name])
            written.append(name)
        kept = read_artifacts(client, root, writes)
        for name in writes:
            if kept[name] != wanted[name]:
                raise TrackingError('the tracking server accepted %s/%s but reading it back gave other content '
                                    '(%s bytes instead of %d)'
                                    % (section['artifact_uri'], name,
                                       'no' if kept[name] is None else len(kept[name]), len(wanted[name])))
    artifacts = [dict(name=name, uri='%s/%s' % (section['artifact_uri'], name), changed=name in writes,
                      size=len(wanted[name])) for name in sorted(wanted)]
    result = dict(changed=bool(writes), card=augmented, artifacts=artifacts, run_id=section['id'])
    before = to_text(existing[CARD_JSON]) if existing[CARD_JSON] is not None else ''
    diff = dict(before=before, after=to_text(wanted[CARD_JSON]),
                before_header='%s/%s' % (section['artifact_uri'], CARD_JSON),
                after_header='%s/%s' % (section['artifact_uri'], CARD_JSON))
    return result, diff


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           mutually_exclusive=[('path', 'card')], required_one_of=[('path', 'card')])
    result = dict(changed=False)
    written = []
    try:
        card = load_card(module.params)
        result['run_id'] = run_id_of(card)
        client = TrackingClient(module.params)
        outcome, diff = apply_card(client, card, module.check_mode, written)
        result.update(outcome)
        if module._diff:
            result['diff'] = diff
    except CardError as exc:
        module.fail_json(msg=to_native(exc), errors=exc.errors, **result)
    except TrackingError as exc:
        result['changed'] = bool(written)
        module.fail_json(msg='model card: %s' % to_native(exc), written=written, **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
