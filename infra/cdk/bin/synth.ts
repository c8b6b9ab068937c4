#!/usr/bin/env node
/**
 * Synthesizes one HlsGate stack per parameter set, offline, for the parity
 * tests (infra/tests/test_cdk.py): no credentials, no bundling (CDK's
 * `aws:cdk:bundling-stacks`, empty), cdk-nag's AwsSolutions checks on.
 *
 *   node dist/bin/synth.js SETS.json OUT_DIR
 *
 * SETS.json maps a name to the SAM template's parameter values
 * (`infra/tools/cdk_parity.py sets` writes it). OUT_DIR gets
 * templates/SLUG.json for each set that synthesizes; result.json, for each
 * name: {"template", "names"} (the name the construct gave each generated
 * logical id), or {"problems"} (what the props broke), and the cdk-nag
 * findings no reason acknowledges; parameters.json, the construct's table of
 * the template's parameters, each with its prop.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, CfnElement, DefaultStackSynthesizer, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { fromParameters, HlsGate, HlsGateConfigError, PARAMETER_PROPS, PARAMETERS, type ParameterName } from '../lib';

export const STACK = 'hlsgate-check';

/** Each logical id CDK generated, and the name the construct gave it: its
 * path under the HlsGate, without a trailing /Resource, slashes dropped
 * (Video/JobsFunction/EventInvokeConfig/Resource: JobsFunctionEventInvokeConfig;
 * outputs under Video/Outputs keep their own names). */
function templateNames(stack: Stack, gate: HlsGate): Record<string, string> {
  const names: Record<string, string> = {};
  for (const c of gate.node.findAll()) {
    if (!CfnElement.isCfnElement(c)) continue;
    const rel = c.node.path
      .slice(gate.node.path.length + 1)
      .replace(/\/Resource$/, '')
      .replace(/^Outputs\//, '');
    names[stack.resolve((c as CfnElement).logicalId)] = rel.replace(/\//g, '');
  }
  return names;
}

/** The findings of a failed validation, one "RULE at PATH" line each. */
function unacknowledged(outdir: string, e: Error): string[] {
  const report = path.join(outdir, 'validation-report.json');
  if (!fs.existsSync(report)) throw e;
  const r = JSON.parse(fs.readFileSync(report, 'utf8'));
  return r.pluginReports.flatMap(
    (p: { violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[] }) =>
      p.violations.flatMap((v) => v.violatingConstructs.map((c) => `${v.ruleName} at ${c.constructPath}`)),
  );
}

function main(): number {
  const [setsFile, outDir] = process.argv.slice(2);
  if (!setsFile || !outDir) {
    process.stderr.write('usage: synth.js SETS.json OUT_DIR\n');
    return 2;
  }
  const sets: Record<string, Record<string, string>> = JSON.parse(fs.readFileSync(setsFile, 'utf8'));
  const templates = path.join(outDir, 'templates');
  fs.rmSync(templates, { recursive: true, force: true });
  fs.mkdirSync(templates, { recursive: true });
  const table = Object.fromEntries(
    Object.entries(PARAMETERS).map(([name, spec]) => [
      name,
      { ...spec, prop: PARAMETER_PROPS[name as ParameterName][0], kind: PARAMETER_PROPS[name as ParameterName][1] },
    ]),
  );
  fs.writeFileSync(path.join(outDir, 'parameters.json'), `${JSON.stringify(table, null, 1)}\n`);
  const result: Record<string, unknown> = {};
  for (const [name, params] of Object.entries(sets)) {
    const slug = name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '');
    const app = new App({
      outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'hlsgate-cdk-')),
      analyticsReporting: false,
      context: { 'aws:cdk:bundling-stacks': [] },
    });
    const stack = new Stack(app, STACK, {
      synthesizer: new DefaultStackSynthesizer({ generateBootstrapVersionRule: false }),
    });
    let gate: HlsGate;
    try {
      gate = new HlsGate(stack, 'Video', fromParameters(params));
    } catch (e) {
      if (!(e instanceof HlsGateConfigError)) throw e;
      result[name] = { problems: e.problems };
      continue;
    }
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    let findings: string[] = [];
    let assembly: ReturnType<App['synth']> | undefined;
    try {
      assembly = app.synth();
    } catch (e) {
      findings = unacknowledged(app.outdir, e as Error);
    }
    const entry: Record<string, unknown> = { findings };
    if (assembly) {
      const file = path.join(templates, `${slug}.json`);
      fs.writeFileSync(file, `${JSON.stringify(assembly.getStackArtifact(stack.artifactId).template, null, 1)}\n`);
      entry.template = file;
      entry.names = templateNames(stack, gate);
    }
    result[name] = entry;
  }
  fs.writeFileSync(path.join(outDir, 'result.json'), `${JSON.stringify(result, null, 1)}\n`);
  return 0;
}

process.exitCode = main();
