/**
 * Pulse's naming rules: a user may create and write only `queue/<user>/...` and
 * `exchange/<user>/...` (the default exchange is not writable), so parked messages go to a
 * queue of the user's own through an exchange of the user's own.
 */
export const pulseNames = (user: string, queueName: string) => ({
  queue: `queue/${user}/${queueName}`,
  failedQueue: `queue/${user}/${queueName}.failed`,
  failedExchange: `exchange/${user}/${queueName}.failed`,
});
export type PulseNames = ReturnType<typeof pulseNames>;
