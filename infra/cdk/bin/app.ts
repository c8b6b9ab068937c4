#!/usr/bin/env node
/**
 * hlsgate standalone: one stack holding one HlsGate (docs/deploy-cdk.md).
 *
 *   npx cdk deploy -c params=hlsgate.json [-c stackName=hlsgate]
 *
 * `hlsgate.json` holds the SAM template's parameters by their names there
 * ({"JwtIssuer": "...", "SigningPublicKey1File": "keys/public.pem", ...}); a
 * `*File` entry reads the value from that file, for the PEM key slots.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { fromParameters, HlsGate } from '../lib';

const app = new App();
const file = app.node.tryGetContext('params');
if (typeof file !== 'string') {
  throw new Error('hlsgate: give the parameters file: npx cdk deploy -c params=hlsgate.json (docs/deploy-cdk.md)');
}
const raw: Record<string, string> = JSON.parse(fs.readFileSync(file, 'utf8'));
const values: Record<string, string> = {};
for (const [k, v] of Object.entries(raw)) {
  const name = k.endsWith('File') ? k.slice(0, -4) : k;
  if (name in values) throw new Error(`hlsgate: ${file} gives ${name} twice (as ${name} and ${name}File)`);
  values[name] = k.endsWith('File') ? fs.readFileSync(path.resolve(path.dirname(file), v), 'utf8') : String(v);
}
const stack = new Stack(app, app.node.tryGetContext('stackName') ?? 'hlsgate', {
  description: 'hlsgate: secure HLS video-on-demand (the HlsGate CDK construct)',
});
new HlsGate(stack, 'Video', fromParameters(values));
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
