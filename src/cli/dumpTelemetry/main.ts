#!/usr/bin/env node
import { InvalidArgumentError } from 'commander';
import * as t from 'io-ts';
import { lastValueFrom } from 'rxjs';
import { changesetJobs } from '../../../streams/changeset.js';
import { allowedUrl } from '../../clients/allowList.js';
import { createClients } from '../../clients/index.js';
import { NodePrefix } from '../../codecs/scalars.js';
import { TargetRepoSettings, UpstreamSettings } from '../../codecs/settings.js';
import { describeError } from '../../errors.js';
import { configureLog } from '../../log.js';
import { pipeline } from '../../pipeline/index.js';
import { dryRun } from '../../pipeline/ledger.js';
import { repositoryUrl } from '../../codecs/scalars.js';
import { stdoutSink } from '../../sinks/stdout.js';
import { gitRepositoryOrHg } from './gitTarget.js';
import { createProgram, EXIT, fail, settingsOrExit, logLevelFor } from '../shared/program.js';
import { TARGET_REPO_HELP } from '../shared/settingsHelp.js';

const NAME = 'dump-telemetry';

const parseNode = (value: string): string => {
  if (!NodePrefix.is(value)) {
    throw new InvalidArgumentError('a changeset id is 12 to 40 hex characters.');
  }
  return value.toLowerCase();
};

const main = async (): Promise<void> => {
  const program = createProgram(
    NAME,
    'Print the hgpush ping that would be sent for one changeset or git commit (sorted keys, 4-space indent). Sends nothing.',
    TARGET_REPO_HELP,
  )
    .argument('<NODE_ID>', 'changeset id, 12 to 40 hex characters (a git sha: all 40)', parseNode)
    .option('--debug', 'log every request and decision to stderr')
    .option(
      '--target-repo <URL>',
      'repository the changeset is in, or a git branch as <GITHUB_WEB_URL>/<owner>/<repo>/tree/<branch> (default: TARGET_REPO, else https://hg.mozilla.org/mozilla-central)',
    )
    .addHelpText(
      'after',
      '\nExit status: 0 ping printed, 1 changeset not found or could not be processed, 2 usage error.',
    )
    .parse();

  const [node] = program.processedArgs as [string];
  const options = program.opts<{ debug?: boolean; targetRepo?: string }>();
  const settings = settingsOrExit(NAME, t.intersection([UpstreamSettings, TargetRepoSettings]));
  const { TARGET_REPO, ...upstream } = settings;
  const from = options.targetRepo !== undefined ? '--target-repo' : 'TARGET_REPO';
  const given = repositoryUrl(options.targetRepo ?? TARGET_REPO);
  const target = (): ReturnType<typeof gitRepositoryOrHg> => {
    try {
      allowedUrl(given, upstream.ALLOWED_HOSTS);
      return gitRepositoryOrHg(given, upstream);
    } catch (error) {
      return fail(NAME, `${from}: ${describeError(error)}`, EXIT.usage);
    }
  };
  const { repository, git } = target();
  if (git && node.length !== 40) {
    fail(
      NAME,
      `NODE_ID: ${node} is a prefix; a git commit (${from} is a git branch) takes its full 40-hex sha`,
      EXIT.usage,
    );
  }
  configureLog({
    level: logLevelFor(options.debug, upstream, 'warn'),
    secrets: upstream.GITHUB_TOKEN === undefined ? [] : [upstream.GITHUB_TOKEN],
  });

  const { hg, bugzilla, github } = createClients(upstream);
  const sink = stdoutSink({ pretty: true });
  const result = await lastValueFrom(
    pipeline({ hg, git: github, bugzilla, sink, ...dryRun })(changesetJobs(repository, node)),
  );
  const outcome = result.outcomes[0];
  if (outcome?.status !== 'sent') {
    const reason = outcome?.status === 'failed' ? outcome.error.message : 'nothing was produced';
    fail(NAME, reason, EXIT.failed);
  }
};

await main();
