import { Observable, type ObservableInput, from, type Subscription } from 'rxjs';

/**
 * Like `mergeMap` with a concurrency limit, but over an async iterable that is read only
 * when a slot is free: `mergeMap` would drain its source into a buffer as fast as it could,
 * so a long pushlog or a recorded stream would sit in memory, all of it. Completes once the
 * iterable is done and every project has completed; unsubscribing stops the iterable.
 */
export const mergePulled = <A, B>(
  items: AsyncIterable<A>,
  concurrency: number,
  project: (item: A) => ObservableInput<B>,
): Observable<B> =>
  new Observable<B>((subscriber) => {
    const iterator = items[Symbol.asyncIterator]();
    const running = new Set<Subscription>();
    let pulling = false;
    let exhausted = false;
    let closed = false;

    const finishIfDone = () => {
      if (exhausted && running.size === 0 && !pulling) subscriber.complete();
    };
    const pull = (): void => {
      if (closed || pulling || exhausted || running.size >= concurrency) return;
      pulling = true;
      iterator.next().then(
        (next) => {
          pulling = false;
          if (closed) return;
          if (next.done === true) {
            exhausted = true;
            return finishIfDone();
          }
          start(next.value);
          pull();
        },
        (error: unknown) => {
          pulling = false;
          subscriber.error(error);
        },
      );
    };
    const start = (item: A): void => {
      let inner: Subscription | undefined = undefined;
      let done = false;
      inner = from(project(item)).subscribe({
        next: (value) => subscriber.next(value),
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          done = true;
          if (inner !== undefined) running.delete(inner);
          finishIfDone();
          pull();
        },
      });
      if (!done) running.add(inner);
    };

    pull();
    return () => {
      closed = true;
      for (const inner of running) inner.unsubscribe();
      void iterator.return?.();
    };
  });
