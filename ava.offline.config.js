// `npm run test:offline`: every test that needs neither RabbitMQ nor PostgreSQL, the built
// commands' included (test/suites.js).
import all from './ava.config.js';
import { commands, unit } from './test/suites.js';

export default { ...all, files: [...unit, ...commands] };
