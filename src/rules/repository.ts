/**
 * A repository URL as pings and requests use it: without trailing slashes, so that
 * `https://hg.mozilla.org/mozilla-central/` and `.../mozilla-central` are one repository.
 */
export const repositoryUrl = (url: string): string => url.replace(/\/+$/, '');
