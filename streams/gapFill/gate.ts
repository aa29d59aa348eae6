/**
 * The door a polled job waits at: it enters once `room()` says so (few enough jobs of its
 * own and live messages in flight, consuming not paused), or is turned away once stopped.
 * `wake()` looks again for every job waiting, when the load may have changed.
 */
export class Gate {
  private waiting: (() => boolean)[] = [];

  constructor(
    private readonly room: () => boolean,
    private readonly stopped: () => boolean,
  ) {}

  /** Resolves true once a job may enter, false if its source stopped. */
  pass(): Promise<boolean> {
    return new Promise((resolve) => {
      const check = (): boolean => {
        const stopped = this.stopped();
        const open = stopped || this.room();
        if (open) resolve(!stopped);
        return open;
      };
      if (!check()) this.waiting.push(check);
    });
  }

  wake(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const check of waiting) if (!check()) this.waiting.push(check);
  }
}
