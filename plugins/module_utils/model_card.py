# -*- coding: utf-8 -*-
# Copyright: onprem.mlflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Model cards (onprem.mlflow.model_card): the schema, a validator for the part of JSON Schema it
uses, the checks of the run a card names, the augmented card (the card plus a ``run`` section read
from the tracking server), its Markdown rendering and the decision which artifacts to write.

Everything here is pure (no network, no clock), so it is tested without a server and the same run
always gives byte-identical artifacts.

The schema is validated by the small validator below, not by the ``jsonschema`` package: the
module then needs nothing beyond ansible-core on the controller, and its messages name the field
the same way everywhere. It implements exactly the keywords SCHEMA uses (type, properties,
required, additionalProperties, items, enum, minLength, minItems, pattern); SCHEMA itself is
standard JSON Schema (draft 2020-12), written out as docs/model_card.schema.json for editors.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import math
import re

# What MLflow accepts as a run ID (mlflow.utils.validation._RUN_ID_REGEX); it also keeps the ID
# safe to put into a URL query.
RUN_ID_PATTERN = r'^[a-zA-Z0-9][\w\-]{0,255}$'

# The artifacts the module attaches to the run, at the root of its artifacts.
CARD_JSON = 'modelcard.json'
CARD_MARKDOWN = 'modelcard.md'
CONTENT_TYPES = {CARD_JSON: 'application/json', CARD_MARKDOWN: 'text/markdown; charset=utf-8'}

_TEXT = {'type': 'string', 'minLength': 1}
_TEXT_LIST = {'type': 'array', 'items': _TEXT}


def _section(required, properties, description):
    return {'type': 'object', 'description': description, 'additionalProperties': False,
            'required': required, 'properties': properties}


SCHEMA = {
    '$schema': 'https://json-schema.org/draft/2020-12/schema',
    'title': 'onprem.mlflow model card',
    'description': 'A model card kept in git that names the MLflow run of the model '
                   '(sections after the Model Card Toolkit and Hugging Face model cards).',
    'type': 'object',
    'additionalProperties': False,
    'required': ['model_details', 'intended_use', 'metrics', 'considerations'],
    'properties': {
        'schema_version': {'description': 'Version of this schema; 1 when given.', 'type': 'integer',
                           'enum': [1]},
        'model_details': _section(['name', 'version', 'run'], {
            'name': _TEXT,
            'version': {'type': ['string', 'integer', 'number'], 'minLength': 1},
            'description': _TEXT,
            'owners': {'type': 'array', 'items': _section(['name'], {'name': _TEXT, 'contact': _TEXT},
                                                          'A person or team answerable for the model.')},
            'license': _TEXT,
            'references': _TEXT_LIST,
            'citation': _TEXT,
            'run': _section(['id'], {
                'id': {'type': 'string', 'pattern': RUN_ID_PATTERN, 'x-format': 'an MLflow run ID'},
                'experiment': dict(_TEXT, description='Name of the experiment the run must belong to.'),
                'type': dict(_TEXT, description='What the run is to the model (training, evaluation ...).'),
            }, 'The MLflow run that produced the model; its data is read from the tracking server.'),
        }, 'What the model is and which run made it.'),
        'intended_use': _section(['primary_uses'], {
            'description': _TEXT,
            'primary_uses': dict(_TEXT_LIST, minItems=1),
            'primary_users': _TEXT_LIST,
            'out_of_scope': _TEXT_LIST,
        }, 'What the model is for, and for whom; what it must not be used for.'),
        'metrics': {'type': 'array', 'minItems': 1,
                    'description': 'The metrics that judge the model; each must be a metric of the run.',
                    'items': _section(['name'], {'name': _TEXT, 'description': _TEXT},
                                      'A metric of the run (its latest value is shown).')},
        'considerations': _section(['limitations'], {
            'limitations': dict(_TEXT_LIST, minItems=1),
            'tradeoffs': _TEXT_LIST,
            'ethical_considerations': _TEXT_LIST,
            'recommendations': _TEXT_LIST,
        }, 'Limitations, trade-offs, ethical considerations, recommendations.'),
        'datasets': {'type': 'array', 'description': 'Data the model was trained or evaluated on.',
                     'items': _section(['name'], {'name': _TEXT, 'description': _TEXT, 'link': _TEXT},
                                       'A data set.')},
        'extra': {'type': 'object', 'description': 'Free-form data, kept as it is and not rendered.'},
    },
}


class CardError(Exception):
    """The card or its run is not acceptable; ``errors`` lists every reason, each naming its field."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__('model card: ' + '; '.join(self.errors))


# --- the JSON Schema subset ----------------------------------------------------------------

_TYPE_NAMES = {'object': 'an object', 'array': 'a list', 'string': 'a string', 'integer': 'an integer',
               'number': 'a number', 'boolean': 'true or false', 'null': 'null'}


def _json_type(value):
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'boolean'
    if isinstance(value, int):
        return 'integer'
    if isinstance(value, float):
        return 'number'
    if isinstance(value, str):
        return 'string'
    if isinstance(value, list):
        return 'array'
    if isinstance(value, dict):
        return 'object'
    return type(value).__name__


def _is_type(value, wanted):
    actual = _json_type(value)
    return actual == wanted or (wanted == 'number' and actual == 'integer')


def _child(path, key):
    return '%s.%s' % (path, key) if path else key


def schema_errors(value, schema=None, path=''):
    """Every way ``value`` breaks ``schema`` (default SCHEMA), as messages naming the field."""
    schema = SCHEMA if schema is None else schema
    where = path or 'the card'
    types = schema.get('type')
    if types is not None:
        types = types if isinstance(types, list) else [types]
        if not any(_is_type(value, wanted) for wanted in types):
            return ['%s must be %s (got %s)' % (where, ' or '.join(_TYPE_NAMES[t] for t in types),
                                                _TYPE_NAMES.get(_json_type(value), _json_type(value)))]
    errors = []
    if 'enum' in schema and value not in schema['enum']:
        errors.append('%s must be one of %s (got %r)' % (where, ', '.join(repr(v) for v in schema['enum']), value))
    if isinstance(value, str):
        if len(value) < schema.get('minLength', 0):
            errors.append('%s must not be empty' % where)
        elif 'pattern' in schema and not re.search(schema['pattern'], value):
            errors.append('%s must be %s (got %r)' % (where, schema.get('x-format', 'match %s' % schema['pattern']),
                                                      value))
    if isinstance(value, list):
        least = schema.get('minItems', 0)
        if len(value) < least:
            errors.append('%s must list at least %d item%s' % (where, least, '' if least == 1 else 's'))
        if 'items' in schema:
            for index, item in enumerate(value):
                errors.extend(schema_errors(item, schema['items'], '%s[%d]' % (path, index)))
    if isinstance(value, dict):
        properties = schema.get('properties', {})
        for key in schema.get('required', []):
            if key not in value:
                errors.append('%s is required' % _child(path, key))
        for key in sorted(value, key=str):
            if key in properties:
                errors.extend(schema_errors(value[key], properties[key], _child(path, key)))
            elif schema.get('additionalProperties') is False:
                errors.append('%s is not a field of %s (known: %s)'
                              % (_child(path, key), path or 'a model card', ', '.join(sorted(properties))))
            elif isinstance(schema.get('additionalProperties'), dict):
                errors.extend(schema_errors(value[key], schema['additionalProperties'], _child(path, key)))
    return errors


# --- the card as data ----------------------------------------------------------------------

def plain(value, path=''):
    """``value`` as JSON data: YAML dates become ISO 8601 strings, keys strings.

    Raises CardError for what JSON cannot hold (binary data, sets, NaN ...).
    """
    if isinstance(value, dict):
        return dict((str(key), plain(item, _child(path, key))) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return [plain(item, '%s[%d]' % (path, index)) for index, item in enumerate(value)]
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        raise CardError(['%s must be a finite number (got %r)' % (path or 'the card', value)])
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    raise CardError(['%s holds %s, which JSON cannot hold' % (path or 'the card', type(value).__name__)])


def parse_card(text, name='the card'):
    """A card from JSON or YAML text, as JSON data (a mapping is checked by validate_card)."""
    try:
        data = json.loads(text)
    except ValueError:
        import yaml  # ansible-core requires PyYAML: it is there wherever Ansible runs.

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise CardError(['%s is neither JSON nor YAML: %s' % (name, exc)]) from None
    return plain(data)


def validate_card(card):
    """The card as JSON data, checked against SCHEMA; CardError naming every field that is wrong."""
    if isinstance(card, dict) and 'run' in card:
        raise CardError(['run is filled in from the tracking server: remove the run section from the card '
                         '(name the run in model_details.run.id)'])
    card = plain(card)
    errors = schema_errors(card)
    if errors:
        raise CardError(errors)
    return card


def run_id_of(card):
    return card['model_details']['run']['id']


# --- the run -------------------------------------------------------------------------------

def _pairs(items):
    return dict((item['key'], item.get('value')) for item in items or [])


def _iso(millis):
    """MLflow's epoch milliseconds as ISO 8601 UTC, e.g. 2026-11-23T07:09:00.477Z; None stays None."""
    if millis in (None, '', 0, '0'):
        return None
    moment = datetime.datetime(1970, 1, 1) + datetime.timedelta(milliseconds=int(millis))
    return moment.strftime('%Y-%m-%dT%H:%M:%S.') + '%03dZ' % (moment.microsecond // 1000)


def _maybe_json(text):
    """A dataset's source or profile: the decoded JSON object when it is one, else the text."""
    if isinstance(text, str):
        try:
            decoded = json.loads(text)
        except ValueError:
            return text
        if isinstance(decoded, dict):
            return decoded
    return text


def _metric_value(value):
    if isinstance(value, float) and not math.isfinite(value):
        return 'NaN' if math.isnan(value) else ('Infinity' if value > 0 else '-Infinity')
    return value


def check_run(card, run, experiment):
    """Reasons why ``run`` (runs/get's ``run``) cannot back ``card``; the card was validated."""
    errors = []
    info = run.get('info') or {}
    run_id = run_id_of(card)
    if info.get('lifecycle_stage') == 'deleted':
        errors.append('model_details.run.id: run %r is deleted' % run_id)
    if info.get('status') != 'FINISHED':
        errors.append('model_details.run.id: run %r is %s, not FINISHED: only a finished run can be documented '
                      '(end it with mlflow.end_run() or MlflowClient().set_terminated())'
                      % (run_id, info.get('status') or 'of unknown status'))
    wanted = card['model_details']['run'].get('experiment')
    if wanted is not None and wanted != experiment.get('name'):
        errors.append('model_details.run.experiment is %r but run %r belongs to experiment %r (ID %s)'
                      % (wanted, run_id, experiment.get('name'), info.get('experiment_id')))
    logged = _pairs((run.get('data') or {}).get('metrics'))
    for index, metric in enumerate(card['metrics']):
        if metric['name'] not in logged:
            errors.append('metrics[%d].name: run %r has no metric %r (it has: %s)'
                          % (index, run_id, metric['name'], ', '.join(sorted(logged)) or 'none'))
    return errors


def run_section(run, experiment):
    """The ``run`` section of the augmented card, from runs/get's ``run`` and its experiment.

    Only what the run holds, nothing of "now", so the same run always gives the same section:
    params, metrics (latest values), tags (MLflow's own ``mlflow.*`` tags left out; its source
    tags go to ``source``), dataset inputs (sorted), times as ISO 8601 UTC.
    """
    info = run.get('info') or {}
    data = run.get('data') or {}
    tags = _pairs(data.get('tags'))
    source = dict((name, tags['mlflow.source.' + key]) for name, key in (
        ('name', 'name'), ('type', 'type'), ('git_commit', 'git.commit'), ('git_repo', 'git.repoURL'),
        ('git_branch', 'git.branch')) if tags.get('mlflow.source.' + key))
    datasets = []
    for item in (run.get('inputs') or {}).get('dataset_inputs') or []:
        dataset = item.get('dataset') or {}
        entry = dict(name=dataset.get('name'), digest=dataset.get('digest'), source_type=dataset.get('source_type'),
                     source=_maybe_json(dataset.get('source')),
                     context=_pairs(item.get('tags')).get('mlflow.data.context'))
        if dataset.get('profile'):
            entry['profile'] = _maybe_json(dataset['profile'])
        datasets.append(dict((key, value) for key, value in entry.items() if value is not None))
    datasets.sort(key=lambda d: (d.get('name') or '', d.get('digest') or '', d.get('context') or ''))
    section = dict(
        id=info.get('run_id') or info.get('run_uuid'),
        name=info.get('run_name') or tags.get('mlflow.runName'),
        experiment_id=info.get('experiment_id'),
        experiment=experiment.get('name'),
        status=info.get('status'),
        user=info.get('user_id'),
        start_time=_iso(info.get('start_time')),
        end_time=_iso(info.get('end_time')),
        artifact_uri=info.get('artifact_uri'),
        params=_pairs(data.get('params')),
        metrics=dict((key, _metric_value(value)) for key, value in _pairs(data.get('metrics')).items()),
        tags=dict((key, value) for key, value in tags.items() if not key.startswith('mlflow.')),
        datasets=datasets,
    )
    if source:
        section['source'] = source
    return dict((key, value) for key, value in section.items() if value is not None)


def augment(card, section):
    """The card as written to the run: the card's own sections plus ``run``."""
    augmented = dict(card)
    augmented['run'] = section
    return augmented


def card_json(augmented):
    """modelcard.json: sorted keys, two-space indent, UTF-8, final newline (byte-stable)."""
    return (json.dumps(augmented, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + '\n').encode('utf-8')


# --- Markdown ------------------------------------------------------------------------------

def _cell(value):
    """A Markdown table cell: pipes escaped, line breaks as <br>."""
    if isinstance(value, (dict, list)):
        value = json.dumps(value, sort_keys=True, ensure_ascii=False)
    elif isinstance(value, float):
        value = repr(value)
    elif value is None:
        value = ''
    text = str(value).replace('\\', '\\\\').replace('|', '\\|')
    return '<br>'.join(line for line in text.splitlines()) if '\n' in text else text


def _table(headers, rows):
    lines = ['| %s |' % ' | '.join(headers), '|' + ' --- |' * len(headers)]
    lines.extend('| %s |' % ' | '.join(_cell(cell) for cell in row) for row in rows)
    return lines + ['']


def _bullets(title, items):
    if not items:
        return []
    return ['### %s' % title, ''] + ['- %s' % item.replace('\n', ' ') for item in items] + ['']


def render_markdown(augmented):
    """modelcard.md: the card for people, as MLflow's artifact viewer shows it (deterministic)."""
    details = augmented['model_details']
    run = augmented.get('run') or {}
    lines = ['# Model card: %s %s' % (details['name'], details['version']), '']
    if details.get('description'):
        lines += [details['description'].strip(), '']
    lines += ['## Model details', '']
    rows = [('Name', details['name']), ('Version', details['version'])]
    if details.get('license'):
        rows.append(('License', details['license']))
    if details.get('owners'):
        rows.append(('Owners', ', '.join(owner['name'] + (' (%s)' % owner['contact'] if owner.get('contact') else '')
                                         for owner in details['owners'])))
    rows.append(('Run', run.get('id') or details['run']['id']))
    if details['run'].get('type'):
        rows.append(('Run type', details['run']['type']))
    lines += _table(['Field', 'Value'], rows)
    lines += _bullets('References', details.get('references'))
    if details.get('citation'):
        lines += ['### Citation', '', '```', details['citation'].strip(), '```', '']

    use = augmented['intended_use']
    lines += ['## Intended use', '']
    if use.get('description'):
        lines += [use['description'].strip(), '']
    lines += _bullets('Primary uses', use.get('primary_uses'))
    lines += _bullets('Primary users', use.get('primary_users'))
    lines += _bullets('Out of scope', use.get('out_of_scope'))

    metrics = run.get('metrics') or {}
    lines += ['## Metrics', '']
    lines += _table(['Metric', 'Value', 'Description'],
                    [(m['name'], metrics.get(m['name']), m.get('description')) for m in augmented['metrics']])

    considerations = augmented['considerations']
    lines += ['## Considerations', '']
    lines += _bullets('Limitations', considerations.get('limitations'))
    lines += _bullets('Trade-offs', considerations.get('tradeoffs'))
    lines += _bullets('Ethical considerations', considerations.get('ethical_considerations'))
    lines += _bullets('Recommendations', considerations.get('recommendations'))

    if augmented.get('datasets'):
        lines += ['## Datasets', '']
        lines += _table(['Name', 'Description', 'Link'],
                        [(d['name'], d.get('description'), d.get('link')) for d in augmented['datasets']])

    lines += ['## Run %s' % run.get('id', ''), '']
    rows = [('Name', run.get('name')), ('Experiment', '%s (ID %s)' % (run.get('experiment'), run.get('experiment_id'))),
            ('Status', run.get('status')), ('User', run.get('user')), ('Start', run.get('start_time')),
            ('End', run.get('end_time')), ('Artifacts', run.get('artifact_uri'))]
    rows += [('Source ' + key.replace('_', ' '), value) for key, value in sorted((run.get('source') or {}).items())]
    lines += _table(['Field', 'Value'], [row for row in rows if row[1] is not None])
    lines += ['### Parameters', '']
    lines += _table(['Parameter', 'Value'], sorted((run.get('params') or {}).items())) if run.get('params') else [
        'None logged.', '']
    lines += ['### Metrics (latest values)', '']
    lines += _table(['Metric', 'Value'], sorted(metrics.items())) if metrics else ['None logged.', '']
    if run.get('tags'):
        lines += ['### Tags', '']
        lines += _table(['Tag', 'Value'], sorted(run['tags'].items()))
    if run.get('datasets'):
        lines += ['### Dataset inputs', '']
        lines += _table(['Name', 'Digest', 'Context', 'Source type', 'Source'],
                        [(d.get('name'), d.get('digest'), d.get('context'), d.get('source_type'), d.get('source'))
                         for d in run['datasets']])
    lines += ['---', '', '*Written by onprem.mlflow.model_card from the model card and the tracking server\'s '
              'record of the run; %s holds the same data.*' % CARD_JSON]
    return '\n'.join(lines) + '\n'


def render(augmented):
    """{artifact name: bytes} the module attaches to the run."""
    return {CARD_JSON: card_json(augmented), CARD_MARKDOWN: render_markdown(augmented).encode('utf-8')}


def plan_writes(existing, wanted):
    """Names of the artifacts to write: those whose current bytes (None: absent) differ from ``wanted``."""
    return [name for name in sorted(wanted) if existing.get(name) != wanted[name]]
