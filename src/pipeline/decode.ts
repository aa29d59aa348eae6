import { map, type OperatorFunction } from 'rxjs';
import { ChangegroupMessage, HgPushEnvelope } from '../codecs/pulseMessage.js';
import { decodeWith } from '../codecs/report.js';
import { PipelineError } from '../errors.js';
import { log } from '../log.js';
import { repositoryUrl } from '../rules/repository.js';
import type { Job, PushRef } from './job.js';
import { failedStep, type Step } from './step.js';

/** Where a job's changesets come from, once its input is understood. */
export type Target =
  | { readonly kind: 'pushlog'; readonly push: PushRef; readonly pushJsonUrl: string }
  | { readonly kind: 'push'; readonly push: PushRef; readonly nodes: readonly string[] }
  | { readonly kind: 'changeset'; readonly repository: string; readonly node: string };

const decodeEnvelope = decodeWith(HgPushEnvelope, 'hgpush message');
const decodeChangegroup = decodeWith(ChangegroupMessage, 'changegroup.1 message');

const parseBody = (body: Buffer | string): unknown => {
  try {
    return JSON.parse(body.toString());
  } catch {
    throw new PipelineError('message body is not JSON', 'permanent');
  }
};

/** Reads a Pulse message: a push to process, or a skip for every other kind of message. */
const decodeMessage = (job: Job, body: Buffer | string): Step<Target> => {
  const step = { job, parts: 1 };
  try {
    const json = parseBody(body);
    const envelope = decodeEnvelope(json);
    if (!envelope.ok) throw new PipelineError(envelope.error.message, 'permanent');
    const type = envelope.value.payload.type;
    if (type !== 'changegroup.1') {
      return { ...step, outcome: { status: 'skipped', reason: `message type ${type}` } };
    }
    const message = decodeChangegroup(json);
    if (!message.ok) throw new PipelineError(message.error.message, 'permanent');
    const { repo_url: repository, pushlog_pushes: pushes } = message.value.payload.data;
    const [first, ...others] = pushes;
    if (first === undefined) {
      return { ...step, outcome: { status: 'skipped', reason: 'message names no push' } };
    }
    if (others.length > 0) {
      log.warn(`${job.label}: skipping a message naming ${pushes.length} pushes in ${repository}`);
      return {
        ...step,
        outcome: { status: 'skipped', reason: `message names ${pushes.length} pushes` },
      };
    }
    const push = { repository: repositoryUrl(repository), pushId: first.pushid };
    return { ...step, push, value: { kind: 'pushlog', push, pushJsonUrl: first.push_json_url } };
  } catch (error) {
    return failedStep(step, error);
  }
};

/** The first operator: every job becomes one step saying where its changesets are. */
export const decode = (): OperatorFunction<Job, Step<Target>> =>
  map((job): Step<Target> => {
    const input = job.input;
    switch (input.kind) {
      case 'message':
        return decodeMessage(job, input.body);
      case 'push': {
        const push = { repository: input.repository, pushId: input.pushId };
        return { job, parts: 1, push, value: { kind: 'push', push, nodes: input.nodes } };
      }
      case 'changeset':
        return { job, parts: 1, value: input };
    }
  });
