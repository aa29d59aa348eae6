import pkg from '../../package.json' with { type: 'json' };

/** Sent with every request so upstream operators know who is calling. */
export const USER_AGENT = `${pkg.name}/${pkg.version} (+https://github.com/mozilla-conduit/commit-telemetry-service)`;
