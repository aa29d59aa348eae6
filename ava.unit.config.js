// `npm run test:unit`: the test files that need neither RabbitMQ nor PostgreSQL (test/suites.js).
import all from './ava.config.js';
import { unit } from './test/suites.js';

export default { ...all, files: unit };
