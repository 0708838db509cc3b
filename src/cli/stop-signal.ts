/**
 * SIGTERM/SIGINT caught from the moment a command starts, before it has any side effect (issue 13.11):
 * a stop that arrives while backends start, a registration is written or listeners open is remembered
 * and honoured once start-up returns, so whatever was started is closed (and registrations removed)
 * instead of the process dying by the signal's default action.
 */
export interface StopSignal {
  /** Resolves with the first SIGTERM or SIGINT received. */
  readonly received: Promise<NodeJS.Signals>;
  /** True once a signal has been received. */
  readonly stopping: boolean;
  /** Removes the handlers (for commands that return without being stopped). */
  dispose(): void;
}

export interface StopSignalOptions {
  /**
   * After the first signal, give later ones their default action (ending the process): the usual way to
   * force a stuck shutdown. When false (a supervisor that must outlive its workers), later ones are
   * ignored. Default true.
   */
  secondSignalEnds?: boolean;
}

export function catchStopSignals(options: StopSignalOptions = {}): StopSignal {
  const secondSignalEnds = options.secondSignalEnds ?? true;
  let stopping = false;
  let resolveReceived: (signal: NodeJS.Signals) => void = () => {};
  const received = new Promise<NodeJS.Signals>((resolve) => {
    resolveReceived = resolve;
  });
  const dispose = (): void => {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  };
  function onSignal(signal: NodeJS.Signals): void {
    if (stopping) return;
    stopping = true;
    if (secondSignalEnds) dispose();
    resolveReceived(signal);
  }
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  return {
    received,
    get stopping() {
      return stopping;
    },
    dispose,
  };
}
