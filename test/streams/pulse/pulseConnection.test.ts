import test from 'ava';
import {
  pulseConnectOptions,
  pulseSettingsToCheck,
} from '../../../streams/pulse/connection/connectOptions.js';
import { PulseSettings } from '../../../src/codecs/settings.js';

test('pulseConnectOptions: TLS by PULSE_SSL, the vhost, and credentials apart from any URL', (t) => {
  const settings = PulseSettings.decode({
    PULSE_USERNAME: 'me',
    PULSE_PASSWORD: 'secret-password',
    PULSE_QUEUE_NAME: 'q',
    PULSE_QUEUE_ROUTING_KEY: '#',
  });
  if (settings._tag === 'Left') return t.fail('the settings do not decode');
  t.deepEqual(pulseConnectOptions(settings.right, 30), {
    protocol: 'amqps',
    hostname: 'pulse.mozilla.org',
    port: 5671,
    username: 'me',
    password: 'secret-password',
    vhost: '/',
    heartbeat: 30,
  });
});

test('pulseSettingsToCheck: the settings a broker or network error points at', (t) => {
  const cases: [string, readonly string[]][] = [
    ['connect ECONNREFUSED 127.0.0.1:1', ['PULSE_HOST', 'PULSE_PORT', 'PULSE_SSL']],
    ['getaddrinfo ENOTFOUND pulse.example', ['PULSE_HOST', 'PULSE_PORT', 'PULSE_SSL']],
    [
      'Handshake terminated by server: 403 (ACCESS-REFUSED) with message "ACCESS_REFUSED - Login was refused"',
      ['PULSE_USERNAME', 'PULSE_PASSWORD'],
    ],
    [
      'Expected ConnectionOpenOk; got <ConnectionClose channel:0>',
      ['PULSE_VHOST', 'PULSE_USERNAME'],
    ],
    [
      "Operation failed: QueueDeclare; 403 (ACCESS-REFUSED) with message \"ACCESS_REFUSED - access to queue 'q' in vhost '/' refused\"",
      ['PULSE_USERNAME', 'PULSE_QUEUE_NAME'],
    ],
    [
      "Operation failed: QueueBind; 404 (NOT-FOUND) with message \"NOT_FOUND - no exchange 'exchange/x/v0' in vhost '/'\"",
      ['PULSE_EXCHANGE'],
    ],
  ];
  for (const [message, settings] of cases) {
    t.deepEqual(pulseSettingsToCheck(new Error(message)), settings, message);
  }
});
