import { Fn } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import type { Context } from './common';
import { skip } from './reasons';

export interface Operations {
  readonly alarmsTopic: sns.CfnTopic;
  readonly dashboard: cloudwatch.CfnDashboard;
}

/** The alarms (to their own topic) and the dashboard. */
export function operations(ctx: Context, functions: FunctionNames, failedEventsName: string): Operations {
  // Not encrypted: CloudWatch cannot publish to a topic under the AWS
  // managed SNS key, and an alarm carries no secret.
  const alarmsTopic = new sns.CfnTopic(ctx.scope, 'AlarmsTopic', { displayName: `hlsgate ${ctx.stackName} alarms` });
  alarmsTopic.addMetadata('guard', { SuppressedRules: ['sns_topics_encrypted'] });
  skip(
    alarmsTopic,
    {
      nag: ['AwsSolutions-SNS3'],
      reason: 'Only CloudWatch alarms publish here (a service over TLS); no topic policy lets anyone else.',
    },
    {
      checkov: 'CKV_AWS_26',
      nag: ['AwsSolutions-SNS2'],
      reason:
        'CloudWatch alarms cannot publish to a topic under the AWS managed SNS key; alarm messages carry no secret, so a customer key would buy nothing.',
    },
  );
  if (ctx.p.AlarmEmail !== '') {
    new sns.CfnSubscription(ctx.scope, 'AlarmsEmail', {
      topicArn: alarmsTopic.ref,
      protocol: 'email',
      endpoint: ctx.p.AlarmEmail,
    });
  }
  const names = { stackName: ctx.stackName, namespace: ctx.namespace, functions, failedEventsName };
  alarms(ctx.scope, { ...names, topic: alarmsTopic.ref });
  return { alarmsTopic, dashboard: dashboard(ctx.scope, names) };
}

/** The functions' names (`Ref`), as the alarms and the dashboard name them. */
export interface FunctionNames {
  readonly rewriter: string;
  readonly issuer: string;
  readonly jobs: string;
}

interface AlarmProps {
  readonly stackName: string;
  readonly namespace: string;
  readonly topic: string;
  readonly functions: FunctionNames;
  readonly failedEventsName: string;
}

const RUNBOOK = '(docs/deploy.md#runbook)';

/** The template's alarms (docs/deploy.md#runbook), each to the alarms topic. */
function alarms(scope: Construct, a: AlarmProps): void {
  const actions = { alarmActions: [a.topic], okActions: [a.topic] };
  const stat = (metricName: string, dims: Record<string, string>, id: string, namespace = a.namespace) => ({
    id,
    returnData: false,
    metricStat: {
      metric: { namespace, metricName, dimensions: Object.entries(dims).map(([name, value]) => ({ name, value })) },
      period: 300,
      stat: 'Sum',
    },
  });
  const serverErrors = (name: string, fn: string, what: string) =>
    new cloudwatch.CfnAlarm(scope, name, {
      alarmName: `${a.stackName}-${fn}-5xx-rate`,
      alarmDescription: `More than 5% of ${what} requests answered 5xx in two 5-minute periods ${RUNBOOK}.`,
      comparisonOperator: 'GreaterThanThreshold',
      threshold: 5,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      treatMissingData: 'notBreaching',
      ...actions,
      metrics: [
        {
          id: 'rate',
          label: '5xx share (%)',
          expression: '100 * FILL(s5, 0) / (FILL(s2, 0) + FILL(s4, 0) + FILL(s5, 0))',
          returnData: true,
        },
        ...['2xx', '4xx', '5xx'].map((c) => stat('Requests', { Function: fn, StatusClass: c }, `s${c[0]}`)),
      ],
    });
  serverErrors('RewriterServerErrorsAlarm', 'manifest-rewriter', 'playlist');
  serverErrors('IssuerServerErrorsAlarm', 'signed-url-issuer', 'playback');

  const single = (
    name: string,
    alarmName: string,
    alarmDescription: string,
    metric: { namespace: string; metricName: string; dimensions: { name: string; value: string }[]; statistic: string },
    ok = true,
  ) =>
    new cloudwatch.CfnAlarm(scope, name, {
      alarmName: `${a.stackName}-${alarmName}`,
      alarmDescription,
      ...metric,
      period: 300,
      evaluationPeriods: 1,
      threshold: 0,
      comparisonOperator: 'GreaterThanThreshold',
      treatMissingData: 'notBreaching',
      alarmActions: [a.topic],
      okActions: ok ? [a.topic] : undefined,
    });
  for (const [key, short] of [
    ['rewriter', 'Rewriter'],
    ['issuer', 'Issuer'],
    ['jobs', 'Jobs'],
  ] as const) {
    for (const metricName of ['Errors', 'Throttles']) {
      const fn = a.functions[key];
      single(
        `${short}${metricName}Alarm`,
        `${key}-${metricName.toLowerCase()}`,
        Fn.sub(`\${Fn} reported ${metricName} ${RUNBOOK}.`, { Fn: fn }),
        {
          namespace: 'AWS/Lambda',
          metricName,
          dimensions: [{ name: 'FunctionName', value: fn }],
          statistic: 'Sum',
        },
      );
    }
  }
  single(
    'FailedEventsAlarm',
    'failed-events',
    `Events that could not be handled after retries are waiting in the failed-events queue ${RUNBOOK}.`,
    {
      namespace: 'AWS/SQS',
      metricName: 'ApproximateNumberOfMessagesVisible',
      dimensions: [{ name: 'QueueName', value: a.failedEventsName }],
      statistic: 'Maximum',
    },
  );
  single(
    'JobFailuresAlarm',
    'job-failures',
    `A MediaConvert job ended in ERROR ${RUNBOOK}.`,
    {
      namespace: a.namespace,
      metricName: 'JobsFailed',
      dimensions: [{ name: 'Function', value: 'mediaconvert-jobs' }],
      statistic: 'Sum',
    },
    false,
  );

  new cloudwatch.CfnAlarm(scope, 'OriginSecretMismatchAlarm', {
    alarmName: `${a.stackName}-origin-secret-mismatches`,
    alarmDescription: `Ten or more requests with a wrong origin secret in 5 minutes ${RUNBOOK}.`,
    comparisonOperator: 'GreaterThanOrEqualToThreshold',
    threshold: 10,
    evaluationPeriods: 1,
    treatMissingData: 'notBreaching',
    ...actions,
    metrics: [
      {
        id: 'total',
        label: 'origin-secret mismatches',
        expression: 'FILL(rewriter, 0) + FILL(issuer, 0)',
        returnData: true,
      },
      stat('OriginSecretMismatches', { Function: 'manifest-rewriter' }, 'rewriter'),
      stat('OriginSecretMismatches', { Function: 'signed-url-issuer' }, 'issuer'),
    ],
  });
}

interface DashboardProps {
  readonly stackName: string;
  readonly namespace: string;
  readonly functions: FunctionNames;
  readonly failedEventsName: string;
}

/** The dashboard: requests, refusals, signatures, caches, jobs, errors. */
function dashboard(scope: Construct, d: DashboardProps): cloudwatch.CfnDashboard {
  const widget = (i: number, title: string, metrics: unknown[], stat = 'Sum') => ({
    type: 'metric',
    x: (i % 2) * 12,
    y: Math.floor(i / 2) * 6,
    width: 12,
    height: 6,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Fn::Sub string for CloudFormation, as in the template's dashboard
    properties: { title, region: '${AWS::Region}', stat, period: 300, view: 'timeSeries', metrics },
  });
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a Fn::Sub string for CloudFormation, as in the template's dashboard
  const ns = 'hlsgate/${AWS::StackName}';
  const search = (dims: string, metric: string, id: string) => [
    { expression: `SEARCH('{${ns},${dims}} MetricName="${metric}"', 'Sum', 300)`, label: id, id },
  ];
  const lambdas = (metric: string) =>
    ['Rewriter', 'Issuer', 'Jobs'].map((f) => ['AWS/Lambda', metric, 'FunctionName', `\${${f}Function}`]);
  const body = {
    widgets: [
      widget(0, 'Requests by status class', search('Function,StatusClass', 'Requests', 'requests')),
      widget(1, 'Refusals by reason', search('Function,Reason', 'Refusals', 'refusals')),
      widget(2, 'Signatures by mode and key', search('Function,Mode,KeyId', 'Signatures', 'signatures')),
      widget(3, 'Cache hits and misses', [
        [ns, 'CacheHits', 'Function', 'manifest-rewriter'],
        ['.', 'CacheMisses', '.', '.'],
        ['.', 'CacheHits', '.', 'signed-url-issuer'],
        ['.', 'CacheMisses', '.', '.'],
      ]),
      widget(4, 'Playlist bytes out and URIs signed', [
        [ns, 'BytesOut', 'Function', 'manifest-rewriter'],
        ['.', 'UrisSigned', '.', '.', { yAxis: 'right' }],
      ]),
      widget(5, 'Jobs', [
        [ns, 'JobsSubmitted', 'Function', 'mediaconvert-jobs'],
        ['.', 'JobsCompleted', '.', '.'],
        ['.', 'JobsFailed', '.', '.'],
      ]),
      widget(6, 'Origin-secret mismatches', [
        [ns, 'OriginSecretMismatches', 'Function', 'manifest-rewriter'],
        ['.', '.', '.', 'signed-url-issuer'],
      ]),
      widget(7, 'Lambda errors and throttles', [...lambdas('Errors'), ...lambdas('Throttles')]),
      widget(8, 'Lambda duration p99 (ms)', lambdas('Duration'), 'p99'),
      widget(
        9,
        'Failed events waiting',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a Fn::Sub string for CloudFormation, as in the template's dashboard
        [['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', '${FailedEventsName}']],
        'Maximum',
      ),
    ],
  };
  return new cloudwatch.CfnDashboard(scope, 'Dashboard', {
    dashboardName: `${d.stackName}-hlsgate`,
    dashboardBody: Fn.sub(`${JSON.stringify(body)}\n`, {
      RewriterFunction: d.functions.rewriter,
      IssuerFunction: d.functions.issuer,
      JobsFunction: d.functions.jobs,
      FailedEventsName: d.failedEventsName,
    }),
  });
}
