// The shape of test/suites.js, which stays JavaScript because the ava config files import it.
export declare const unit: readonly string[];
export declare const commands: readonly string[];
export declare const services: readonly string[];
