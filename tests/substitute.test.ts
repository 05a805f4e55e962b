import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { envsubst, substituteObject } from '../src/validate/substitute.ts';

const test = suite('substitute');
const vars = { APP: 'gatus', DOMAIN: 'monosense.dev', EMPTY: '' };

test('replaces braced variables', () => {
  assert.equal(envsubst('${APP}.${DOMAIN}', vars), { output: 'gatus.monosense.dev', missing: [] });
});

test('reports a variable without value or default', () => {
  assert.equal(envsubst('host: ${NOPE}', vars).missing, ['NOPE']);
});

test(':= and :- give defaults when unset or empty; = and - only when unset', () => {
  assert.is(envsubst('${NOPE:=8h}', vars).output, '8h');
  assert.is(envsubst('${EMPTY:-x}', vars).output, 'x');
  assert.is(envsubst('${EMPTY=x}', vars).output, '');
  assert.is(envsubst('${NOPE-x}', vars).output, 'x');
  assert.is(envsubst('${APP:=x}', vars).output, 'gatus');
  assert.equal(envsubst('${NOPE:=x}', vars).missing, []);
});

test('a bare $VAR is left alone and $$ escapes', () => {
  assert.is(envsubst('echo $HOME $${APP}', vars).output, 'echo $HOME ${APP}');
  assert.equal(envsubst('echo $HOME', vars).missing, []);
});

test('helm and go templates pass through', () => {
  assert.is(envsubst('{{ .Values.x }} ${{ github.sha }}', vars).output, '{{ .Values.x }} ${{ github.sha }}');
});

test('string operators', () => {
  assert.is(envsubst('${APP^^}', vars).output, 'GATUS');
  assert.is(envsubst('${#APP}', vars).output, '5');
  assert.is(envsubst('${DOMAIN%.dev}', vars).output, 'monosense');
  assert.is(envsubst('${APP:1:2}', vars).output, 'at');
});

test('substitution re-types scalars as Flux does', () => {
  const out = substituteObject({ kind: 'X', spec: { replicas: '${N}' } }, { N: '3' });
  assert.is(out.obj.spec.replicas, 3);
  const raw = substituteObject({ kind: 'X', spec: { replicas: 1, name: '${APP}' } }, vars);
  assert.is(raw.obj.spec.name, 'gatus');
});

test('the disable annotation skips an object', () => {
  const obj = { kind: 'ConfigMap', metadata: { annotations: { 'kustomize.toolkit.fluxcd.io/substitute': 'disabled' } }, data: { a: '${NOPE}' } };
  const out = substituteObject(obj, vars);
  assert.equal(out.missing, []);
  assert.is(out.obj.data.a, '${NOPE}');
});

test.run();
