/** An invalid configuration value. The CLI prints one line per problem and exits non-zero. */
export class GatewayConfigError extends Error {
  readonly option: string;
  constructor(option: string, problem: string) {
    super(`${option}: ${problem}`);
    this.name = "GatewayConfigError";
    this.option = option;
  }
}
