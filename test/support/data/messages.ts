/** A `changegroup.1` hgpush message body for one push, in the shape hg.mozilla.org sends. */
export const changegroupMessage = (
  repoUrl: string,
  pushId: number,
  heads: string[] = [],
): string => {
  const query = `startID=${pushId - 1}&endID=${pushId}`;
  return JSON.stringify({
    payload: {
      type: 'changegroup.1',
      data: {
        repo_url: repoUrl,
        heads,
        source: 'push',
        pushlog_pushes: [
          {
            pushid: pushId,
            time: 1_700_000_000 + pushId,
            user: 'sheriff@mozilla.com',
            push_json_url: `${repoUrl}/json-pushes?version=2&${query}`,
            push_full_json_url: `${repoUrl}/json-pushes?version=2&full=1&${query}`,
          },
        ],
      },
    },
    _meta: {
      exchange: 'exchange/hgpushes/v2',
      routing_key: new URL(repoUrl).pathname.slice(1),
      serializer: 'json',
      sent: '2024-01-01T00:00:00.000000',
    },
  });
};

/** A message of another type, which the worker acknowledges and skips. */
export const otherMessage = (type: string, repoUrl: string): string =>
  JSON.stringify({
    payload: { type, data: { repo_url: repoUrl } },
    _meta: { exchange: 'exchange/hgpushes/v2', routing_key: 'integration/autoland' },
  });
