"""Compares two OpenAPI documents semantically and prints each difference
with its place: every operation (its parameters by name and place, security,
request body and responses, with parameter, header and response $refs
followed) and every component schema. Equivalent spellings count as equal:
wrapped description lines, `allOf: [$ref]` and `$ref`, `oneOf` and `anyOf`
of a type and null, the order of `required`.

Used to hold the generated document to the hand-written one it replaced:
  python3 tools/openapi/compare.py <(git show d2114f2:src/openapi.json) src/openapi.json
Add --no-prose to ignore descriptions and summaries."""
import json, sys

a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
ignore_desc = '--no-prose' in sys.argv
out = []

def resolve(doc, v):
    # follow non-schema refs (parameters, headers, responses)
    while isinstance(v, dict) and list(v) == ['$ref'] and not v['$ref'].startswith('#/components/schemas/'):
        t = doc
        for k in v['$ref'][2:].split('/'): t = t[k]
        v = t
    return v

import re
def unwrap(t):
    return re.sub(r'(?<=\S)\n(?=[^\n\-*])', ' ', t)
def norm(doc, v):
    v = resolve(doc, v)
    if isinstance(v, dict) and 'allOf' in v and len(v['allOf']) == 1 and list(v['allOf'][0]) == ['$ref']:
        v = dict(v); v['$ref'] = v.pop('allOf')[0]['$ref']
    if isinstance(v, dict) and '$ref' in v:
        v = {k: x for k, x in v.items() if k != 'unevaluatedProperties'}
    if isinstance(v, str): return unwrap(v)
    if isinstance(v, dict) and 'oneOf' in v and len(v['oneOf']) == 2 and {'type': 'null'} in v['oneOf']:
        v = dict(v); v['anyOf'] = v.pop('oneOf')
    if isinstance(v, dict) and isinstance(v.get('required'), list):
        v = dict(v); v['required'] = sorted(v['required'])
    if isinstance(v, dict):
        return {k: norm(doc, x) for k, x in v.items() if not (ignore_desc and k in ('description', 'summary'))}
    if isinstance(v, list):
        return [norm(doc, x) for x in v]
    return v

def diff(x, y, at):
    if isinstance(x, dict) and isinstance(y, dict):
        for k in sorted(set(x) | set(y)):
            if k not in x: out.append('%s/%s: only in new: %s' % (at, k, json.dumps(y[k])[:150]))
            elif k not in y: out.append('%s/%s: only in old: %s' % (at, k, json.dumps(x[k])[:150]))
            else: diff(x[k], y[k], at + '/' + k)
    elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
        for i, (p, q) in enumerate(zip(x, y)): diff(p, q, '%s/%d' % (at, i))
    elif x != y:
        out.append('%s: old %s | new %s' % (at, json.dumps(x)[:150], json.dumps(y)[:150]))

def params(doc, item, op):
    ps = [resolve(doc, p) for p in item.get('parameters', []) + op.get('parameters', [])]
    return {p['in'] + ':' + p['name']: norm(doc, p) for p in ps}

for path in sorted(set(a['paths']) | set(b['paths'])):
    ia, ib = a['paths'].get(path), b['paths'].get(path)
    if ia is None or ib is None: out.append('path %s only in %s' % (path, 'new' if ia is None else 'old')); continue
    for m in sorted((set(ia) | set(ib)) - {'parameters'}):
        at = '%s %s' % (m.upper(), path)
        if m not in ia or m not in ib: out.append(at + ' only in one'); continue
        oa, ob = ia[m], ib[m]
        diff(params(a, ia, oa), params(b, ib, ob), at + ' params')
        for k in sorted((set(oa) | set(ob)) - {'parameters'}):
            diff(norm(a, oa.get(k)), norm(b, ob.get(k)), at + ' ' + k)
diff(norm(a, a['components']['schemas']), norm(b, b['components']['schemas']), 'schemas')
diff(norm(a, a['components']['securitySchemes']), norm(b, b['components']['securitySchemes']), 'securitySchemes')
for k in ('info', 'tags', 'servers', 'openapi'): diff(a[k], b[k], k)
print('\n'.join(out)); print('%d differences' % len(out), file=sys.stderr)
